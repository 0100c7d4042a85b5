"""Every object id DVC ever recorded for a path, across git history and the workspace.

``dvc.lock`` and ``*.dvc`` files name each output's md5 (a ``.dir`` id for a folder). Walking
every revision of those files (``git log --all``: branches, tags, stash, experiment refs) plus
the working copies, and expanding ``.dir`` listings read from the cache or a remote, yields a
:class:`Catalogue`: object id -> the repo paths it was stored under.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

import yaml

from headforge.privacy.forget.dvcstore import parse_dir_listing


@dataclasses.dataclass
class Catalogue:
    """Object ids and the repo-relative paths they were recorded under."""

    paths: dict[str, set[str]] = dataclasses.field(default_factory=lambda: defaultdict(set))
    dirs: dict[str, list[tuple[str, str]]] = dataclasses.field(default_factory=dict)
    """``.dir`` id -> its (relpath, md5) entries (when the listing could be read)."""
    unreadable_dirs: set[str] = dataclasses.field(default_factory=set)
    revisions: int = 0
    """Git revisions of dvc.lock / .dvc files that were read."""

    def add(self, oid: str, path: str) -> None:
        self.paths[oid].add(path)

    def paths_of(self, oid: str) -> set[str]:
        return self.paths.get(oid, set())


def _git(root: Path, *args: str, stdin: bytes | None = None) -> bytes | None:
    try:
        res = subprocess.run(["git", *args], cwd=root, input=stdin, capture_output=True)
    except FileNotFoundError:
        return None
    return res.stdout if res.returncode == 0 else None


def _is_dvc_file(path: str) -> bool:
    name = PurePosixPath(path).name
    return name == "dvc.lock" or name.endswith(".dvc")


def working_dvc_files(root: Path) -> list[str]:
    """``dvc.lock`` and ``*.dvc`` files of the working tree (git-aware, ignored folders skipped)."""
    listed = _git(root, "ls-files", "-co", "--exclude-standard", "--", "*dvc.lock", "*.dvc")
    if listed is not None:
        return sorted({p for p in listed.decode().splitlines() if _is_dvc_file(p)})
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        rel = Path(dirpath).relative_to(root)
        found += [(rel / f).as_posix() for f in filenames if _is_dvc_file(f)]
    return sorted(found)


def dvc_file_versions(root: Path) -> list[tuple[str, bytes]]:
    """(dvc file path, content) of every committed version plus the working copies."""
    out: list[tuple[str, bytes]] = []
    seen: set[bytes] = set()
    # working copies (uncommitted edits count too)
    for rel in working_dvc_files(root):
        p = root / rel
        if p.is_file():
            data = p.read_bytes()
            out.append((rel, data))
            seen.add(data)
    log = _git(root, "log", "--all", "-m", "--format=@%H", "--name-only", "--no-renames",
               "--", "*dvc.lock", "*.dvc")
    if not log:
        return out
    wanted: list[tuple[str, str]] = []
    rev = ""
    for line in log.decode(errors="replace").splitlines():
        if line.startswith("@"):
            rev = line[1:]
        elif line.strip() and _is_dvc_file(line.strip()):
            wanted.append((rev, line.strip()))
    if not wanted:
        return out
    # one `git cat-file --batch` for every version
    req = "".join(f"{r}:{p}\n" for r, p in wanted).encode()
    blob = _git(root, "cat-file", "--batch", stdin=req) or b""
    pos = 0
    for _rev, path in wanted:
        nl = blob.find(b"\n", pos)
        if nl < 0:
            break
        header = blob[pos:nl].split()
        pos = nl + 1
        if len(header) < 3 or header[1] != b"blob":  # "<rev>:<path> missing" (deleted there)
            continue
        size = int(header[2])
        data = blob[pos: pos + size]
        pos += size + 1
        if data not in seen:
            seen.add(data)
            out.append((path, data))
    return out


def outs_of(dvc_path: str, data: bytes) -> list[tuple[str, str]]:
    """(repo path, md5) of every out and dep recorded in a dvc.lock / .dvc file version."""
    try:
        doc = yaml.safe_load(data)
    except yaml.YAMLError:
        return []
    if not isinstance(doc, dict):
        return []
    base = PurePosixPath(dvc_path).parent
    entries: list[dict] = []
    if PurePosixPath(dvc_path).name == "dvc.lock":
        for stage in (doc.get("stages") or {}).values():
            if isinstance(stage, dict):
                entries += [e for k in ("deps", "outs") for e in stage.get(k) or []]
    else:
        entries += [e for k in ("deps", "outs") for e in doc.get(k) or []]
    out = []
    for e in entries:
        if isinstance(e, dict) and e.get("md5") and e.get("path"):
            rel = PurePosixPath(base, str(e["path"])).as_posix()
            out.append((rel.removeprefix("./"), str(e["md5"])))
    return out


def current_refs(root: Path, readers: Iterable[Callable[[str], bytes | None]]
                 ) -> dict[str, list[str]]:
    """Object id -> repo paths that the working ``dvc.lock``/``.dvc`` files reference now
    (``.dir`` listings expanded when a reader has them)."""
    readers = list(readers)
    refs: dict[str, list[str]] = {}
    for rel in working_dvc_files(root):
        f = root / rel
        for path, md5 in outs_of(rel, f.read_bytes()) if f.is_file() else []:
            refs.setdefault(md5, []).append(path)
            if not md5.endswith(".dir"):
                continue
            listing = next((d for d in (read(md5) for read in readers) if d is not None), None)
            for sub, m in parse_dir_listing(listing) if listing is not None else []:
                refs.setdefault(m, []).append(f"{path}/{sub}")
    return refs


def build_catalogue(root: Path, readers: Iterable[Callable[[str], bytes | None]],
                    extra_dirs: Iterable[tuple[str, bytes]] = ()) -> Catalogue:
    """The catalogue of every recorded version; ``readers`` fetch ``.dir`` listings by id.

    ``extra_dirs`` are ``.dir`` objects found in stores (id, bytes) that no revision names
    (e.g. left by an uncommitted ``dvc add``): their entries are catalogued under ``?/relpath``.
    """
    cat = Catalogue()
    readers = list(readers)
    versions = dvc_file_versions(root)
    cat.revisions = len(versions)
    for dvc_path, data in versions:
        for path, oid in outs_of(dvc_path, data):
            cat.add(oid, path)
    for oid in [o for o in list(cat.paths) if o.endswith(".dir")]:
        listing = None
        for read in readers:
            listing = read(oid)
            if listing is not None:
                break
        if listing is None:
            cat.unreadable_dirs.add(oid)
            continue
        entries = parse_dir_listing(listing)
        cat.dirs[oid] = entries
        for base in sorted(cat.paths_of(oid)):
            for rel, md5 in entries:
                cat.add(md5, f"{base}/{rel}")
    for oid, listing in extra_dirs:
        if oid not in cat.dirs:
            entries = parse_dir_listing(listing)
            cat.dirs[oid] = entries
            for rel, md5 in entries:
                cat.add(md5, f"?/{rel}")
    return cat


def git_blobs(root: Path, paths: list[str], max_bytes: int) -> list[tuple[str, bytes]]:
    """(path, content) of every blob below ``paths`` in any git revision (``--all``)."""
    listing = _git(root, "rev-list", "--all", "--objects", "--", *paths)
    if not listing:
        return []
    named: dict[str, str] = {}
    for line in listing.decode(errors="replace").splitlines():
        sha, _, path = line.partition(" ")
        if path:
            named.setdefault(sha, path)
    if not named:
        return []
    check = _git(root, "cat-file", "--batch-check",
                 stdin="".join(f"{s}\n" for s in named).encode()) or b""
    blobs = []
    for line in check.decode().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] == "blob" and int(parts[2]) <= max_bytes:
            blobs.append(parts[0])
    if not blobs:
        return []
    data = _git(root, "cat-file", "--batch", stdin="".join(f"{s}\n" for s in blobs).encode())
    out: list[tuple[str, bytes]] = []
    pos = 0
    for sha in blobs:
        nl = (data or b"").find(b"\n", pos)
        if nl < 0:
            break
        size = int(data[pos:nl].split()[2])  # type: ignore[index]
        out.append((named[sha], data[nl + 1: nl + 1 + size]))  # type: ignore[index]
        pos = nl + 1 + size + 1
    return out
