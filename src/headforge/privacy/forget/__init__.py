"""Consent-driven deletion that reaches every copy and every model trained on a subject.

>>> from headforge.privacy import Registry
>>> from headforge.privacy.forget import load_settings, forget_subject
>>> settings = load_settings(root)                 # params.yaml `retention` + DVC's config
>>> out = forget_subject(settings, Registry.from_config(root), "s0042", dry_run=True)
>>> print(out.preview)

Steps (each a function, so the Prefect flow can run them as tasks): :func:`build_plan` ->
:func:`format_plan` -> approval -> :func:`apply_plan` -> :func:`verify_forgotten` ->
:func:`finish` (audit entry with counts and hashes only). :func:`due_for_retention` lists the
forgets a scheduled sweep must run. DVC is only ever run in subprocesses.

Each place these steps reach (workspace, DVC cache, remotes, run-cache, Prefect, ...) is one
:class:`Place` of :data:`PLACES` (:mod:`headforge.privacy.forget.places`).
"""

from headforge.privacy.forget.apply import (
    Journal,
    apply_plan,
    clear_retrain_requests,
    pending_retrain_requests,
    rewrite_manifest,
)
from headforge.privacy.forget.dvcstore import DvcError, LocalStore, S3Store, open_stores
from headforge.privacy.forget.markers import ContentIndex, Markers, pseudonym_pattern
from headforge.privacy.forget.model import (
    Action,
    ApplyResult,
    ForgetPlan,
    Hit,
    Kind,
    StoreName,
    VerifyResult,
)
from headforge.privacy.forget.pipeline import (
    ForgetOutcome,
    Resume,
    apply_subject,
    finish,
    forget_subject,
    needs_apply,
    outcome_status,
    plan_subject,
    resume_pending,
    retrain_stages,
)
from headforge.privacy.forget.places import PLACES, Place
from headforge.privacy.forget.plan import RETRAIN_FILE, build_plan, format_plan
from headforge.privacy.forget.retention import RetentionDue, due_for_retention
from headforge.privacy.forget.settings import ForgetSettings, load_settings
from headforge.privacy.forget.verify import verify_forgotten

__all__ = [
    "PLACES",
    "RETRAIN_FILE",
    "Action",
    "ApplyResult",
    "ContentIndex",
    "DvcError",
    "ForgetOutcome",
    "ForgetPlan",
    "ForgetSettings",
    "Hit",
    "Journal",
    "Kind",
    "LocalStore",
    "Markers",
    "Place",
    "Resume",
    "RetentionDue",
    "S3Store",
    "StoreName",
    "VerifyResult",
    "apply_plan",
    "apply_subject",
    "build_plan",
    "clear_retrain_requests",
    "due_for_retention",
    "finish",
    "forget_subject",
    "format_plan",
    "needs_apply",
    "outcome_status",
    "plan_subject",
    "resume_pending",
    "load_settings",
    "open_stores",
    "pending_retrain_requests",
    "pseudonym_pattern",
    "retrain_stages",
    "rewrite_manifest",
    "verify_forgotten",
]
