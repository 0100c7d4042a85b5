"""Real captures: readers for multi-view, transforms.json, video and photo inputs, validation,
head crops, foreground masks and the captures manifest (the ``ingest`` stage's library)."""

from headforge.ingest.errors import CaptureError
from headforge.ingest.ingest import (
    CommitResult,
    StagedSubject,
    commit_subjects,
    discard_staged,
    ingest_subjects,
    list_subjects,
    stage_subject,
)
from headforge.ingest.manifest import COLUMNS, manifest_path, read_manifest

__all__ = [
    "COLUMNS",
    "CaptureError",
    "CommitResult",
    "StagedSubject",
    "commit_subjects",
    "discard_staged",
    "ingest_subjects",
    "list_subjects",
    "manifest_path",
    "read_manifest",
    "stage_subject",
]
