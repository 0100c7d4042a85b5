"""DVC's storage as seen by a deletion: cache, remotes, run-cache and the history of hashes.

DVC runs only in subprocesses (``python -m dvc`` and one read-only probe of its config); the
content-addressed layouts themselves are plain files that this module reads and deletes:

- objects: ``<odb>/files/md5/<2 hex>/<30 hex>`` (directory listings end in ``.dir`` and hold a
  JSON list of ``{"relpath", "md5"}``); DVC 2 layout ``<odb>/<2>/<30>`` is read too;
- run-cache: ``<odb>/runs/<2>/<key>/<value>``, each a YAML lock entry (cmd, deps, outs);
- a local remote has the same layout as the cache; an S3 remote is reached with boto3 using the
  remote's ``endpointurl`` / credentials from ``dvc config``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import yaml

DVC_PROBE = """
import json, sys
from dvc.repo import Repo
repo = Repo(sys.argv[1])
cfg = repo.config
remotes = {n: {k: str(v) for k, v in o.items()} for n, o in cfg.get("remote", {}).items()}
print(json.dumps({"cache_dir": repo.cache.local.path, "site_cache_dir": repo.site_cache_dir,
                  "default_remote": cfg["core"].get("remote"), "remotes": remotes}))
"""
"""Run as ``python -c`` in a child process: DVC's own answer for its cache and remotes."""


class DvcError(RuntimeError):
    """A DVC command failed; the message holds its output and what to check."""


def dvc_cmd() -> list[str]:
    """``python -m dvc`` of this interpreter."""
    return [sys.executable, "-m", "dvc"]


def run_dvc(args: list[str], root: Path) -> str:
    """Run ``dvc <args>`` in ``root``; return stdout or raise :class:`DvcError`."""
    env = dict(os.environ, DVC_NO_ANALYTICS="1")
    res = subprocess.run([*dvc_cmd(), *args], cwd=root, env=env, capture_output=True, text=True)
    if res.returncode != 0:
        raise DvcError(f"`dvc {' '.join(args)}` failed in {root} (exit {res.returncode}): "
                       f"{(res.stderr or res.stdout).strip()[-2000:]}")
    return res.stdout


@dataclasses.dataclass(frozen=True)
class DvcLayout:
    """Where this project's DVC keeps objects."""

    cache_dir: Path | None
    """The object database (``.../files/md5`` lives below it); None when DVC is not set up."""
    site_cache_dir: Path | None
    """DVC's per-repo state databases (hashes, links, data index), outside the project."""
    remotes: dict[str, dict[str, str]]
    """Remote name -> its config (``url``, ``endpointurl``, credentials...)."""


def probe_layout(root: Path) -> DvcLayout:
    """Ask DVC (in a child process) for its cache dir, site-cache dir and remotes."""
    if not (root / ".dvc").is_dir():
        return DvcLayout(None, None, {})
    env = dict(os.environ, DVC_NO_ANALYTICS="1")
    res = subprocess.run([sys.executable, "-c", DVC_PROBE, str(root)], cwd=root, env=env,
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise DvcError(f"could not read DVC's configuration in {root}: "
                       f"{res.stderr.strip()[-2000:]}; check .dvc/config with `dvc config -l`")
    info = json.loads(res.stdout.strip().splitlines()[-1])
    odb = Path(info["cache_dir"])  # .../cache/files/md5
    cache = odb.parent.parent if odb.name == "md5" and odb.parent.name == "files" else odb
    return DvcLayout(cache, Path(info["site_cache_dir"]), info["remotes"])


def split_md5(oid: str) -> tuple[str, str]:
    """``abcdef...[.dir]`` -> (``ab``, ``cdef...[.dir]``)."""
    return oid[:2], oid[2:]


def is_oid(name: str) -> bool:
    """True for a DVC md5 object id (32 hex digits, optionally ``.dir``)."""
    core = name[:-4] if name.endswith(".dir") else name
    return len(core) == 32 and all(c in "0123456789abcdef" for c in core)


def parse_dir_listing(data: bytes) -> list[tuple[str, str]]:
    """(relpath, md5) entries of a ``.dir`` object."""
    try:
        entries = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return []
    out = []
    for e in entries if isinstance(entries, list) else []:
        if isinstance(e, dict) and "relpath" in e and "md5" in e:
            out.append((str(e["relpath"]), str(e["md5"])))
    return out


def run_cache_hashes(data: bytes) -> tuple[set[str], list[str]]:
    """(md5s, paths) named by a run-cache entry's deps and outs."""
    try:
        entry = yaml.safe_load(data)
    except yaml.YAMLError:
        return set(), []
    md5s: set[str] = set()
    paths: list[str] = []
    if isinstance(entry, dict):
        for sect in ("deps", "outs"):
            for item in entry.get(sect) or []:
                if isinstance(item, dict):
                    if item.get("md5"):
                        md5s.add(str(item["md5"]))
                    if item.get("path"):
                        paths.append(str(item["path"]))
    return md5s, paths


class ObjectStore(Protocol):
    """A DVC object database: the local cache or a remote."""

    name: str

    def iter_objects(self) -> Iterator[tuple[str, int]]:
        """(object id, size) of every stored object."""
        ...

    def read(self, oid: str) -> bytes | None:
        """The object's bytes, or None when absent."""
        ...

    def exists(self, oid: str) -> bool: ...

    def delete(self, oid: str) -> int:
        """Delete the object (every stored version); returns bytes freed (0 when absent)."""
        ...

    def iter_run_cache(self) -> Iterator[tuple[str, bytes]]:
        """(key relative to ``runs/``, entry bytes) of every run-cache entry."""
        ...

    def delete_run_cache(self, key: str) -> int: ...

    def can_scan_content(self) -> bool:
        """Whether reading every object to scan its content is cheap (local disk)."""
        ...


class LocalStore:
    """The cache, or a remote on a local/mounted filesystem."""

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"LocalStore({self.name!r})"

    def _candidates(self, oid: str) -> list[Path]:
        a, b = split_md5(oid)
        return [self.path / "files" / "md5" / a / b, self.path / a / b]

    def locate(self, oid: str) -> Path | None:
        for p in self._candidates(oid):
            if p.is_file():
                return p
        return None

    def iter_objects(self) -> Iterator[tuple[str, int]]:
        for base in (self.path / "files" / "md5", self.path):
            if not base.is_dir():
                continue
            for sub in sorted(base.iterdir()):
                if len(sub.name) != 2 or not sub.is_dir():
                    continue
                for f in sorted(sub.iterdir()):
                    oid = sub.name + f.name
                    if f.is_file() and is_oid(oid):
                        yield oid, f.stat().st_size

    def read(self, oid: str) -> bytes | None:
        p = self.locate(oid)
        return p.read_bytes() if p else None

    def exists(self, oid: str) -> bool:
        return self.locate(oid) is not None

    def delete(self, oid: str) -> int:
        freed = 0
        for p in self._candidates(oid):
            if p.is_file():
                freed += p.stat().st_size
                _unlink(p)
        return freed

    def iter_run_cache(self) -> Iterator[tuple[str, bytes]]:
        runs = self.path / "runs"
        if runs.is_dir():
            for f in sorted(runs.rglob("*")):
                if f.is_file():
                    yield f.relative_to(runs).as_posix(), f.read_bytes()

    def delete_run_cache(self, key: str) -> int:
        p = self.path / "runs" / key
        if not p.is_file():
            return 0
        size = p.stat().st_size
        _unlink(p)
        for parent in (p.parent, p.parent.parent):  # drop emptied key folders
            try:
                parent.rmdir()
            except OSError:
                break
        return size

    def can_scan_content(self) -> bool:
        return True


def _unlink(p: Path) -> None:
    try:
        os.chmod(p, 0o600)  # DVC makes cache files read-only
    except OSError:
        pass
    p.unlink(missing_ok=True)


class S3Store:
    """An S3 (or S3-API) remote, through boto3 with the remote's own settings."""

    def __init__(self, name: str, url: str, options: dict[str, str], client: Any = None) -> None:
        if not url.startswith("s3://"):
            raise ValueError(f"remote {name!r}: {url!r} is not an s3:// URL")
        bucket, _, prefix = url[5:].partition("/")
        self.name, self.bucket, self.prefix = name, bucket, prefix.strip("/")
        self.client = client or _s3_client(options)
        self._versioned: bool | None = None

    def __repr__(self) -> str:
        return f"S3Store({self.name!r})"

    def _key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def _obj_key(self, oid: str) -> str:
        a, b = split_md5(oid)
        return self._key("files", "md5", a, b)

    def _list(self, prefix: str) -> Iterator[dict[str, Any]]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix)
        for page in pages:
            yield from page.get("Contents", [])

    def iter_objects(self) -> Iterator[tuple[str, int]]:
        base = self._key("files", "md5") + "/"
        for obj in self._list(base):
            rest = obj["Key"][len(base):].split("/")
            if len(rest) == 2 and is_oid(rest[0] + rest[1]):
                yield rest[0] + rest[1], int(obj["Size"])

    def read(self, oid: str) -> bytes | None:
        return self._get(self._obj_key(oid))

    def _get(self, key: str) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None
        except Exception as e:  # botocore ClientError 404
            if _is_not_found(e):
                return None
            raise

    def exists(self, oid: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._obj_key(oid))
            return True
        except Exception as e:
            if _is_not_found(e):
                return False
            raise

    def _delete_key(self, key: str) -> int:
        freed = 0
        if self._is_versioned():
            pages = self.client.get_paginator("list_object_versions").paginate(
                Bucket=self.bucket, Prefix=key)
            for page in pages:
                for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
                    if v["Key"] == key:
                        freed += int(v.get("Size", 0))
                        self.client.delete_object(Bucket=self.bucket, Key=key,
                                                  VersionId=v["VersionId"])
            return freed
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except Exception as e:
            if _is_not_found(e):
                return 0
            raise
        self.client.delete_object(Bucket=self.bucket, Key=key)
        return int(head.get("ContentLength", 0))

    def _is_versioned(self) -> bool:
        if self._versioned is None:
            try:
                st = self.client.get_bucket_versioning(Bucket=self.bucket).get("Status")
            except Exception:
                st = None
            self._versioned = st in ("Enabled", "Suspended")
        return self._versioned

    def delete(self, oid: str) -> int:
        return self._delete_key(self._obj_key(oid))

    def iter_run_cache(self) -> Iterator[tuple[str, bytes]]:
        base = self._key("runs") + "/"
        for obj in self._list(base):
            data = self._get(obj["Key"])
            if data is not None:
                yield obj["Key"][len(base):], data

    def delete_run_cache(self, key: str) -> int:
        return self._delete_key(self._key("runs", key))

    def can_scan_content(self) -> bool:
        return False


def _is_not_found(e: Exception) -> bool:
    resp = getattr(e, "response", None) or {}
    code = str(resp.get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")


def _s3_client(options: dict[str, str]) -> Any:
    try:
        import boto3
    except ModuleNotFoundError as e:  # pragma: no cover - boto3 ships with dvc-s3
        raise DvcError("an s3 remote is configured but boto3 is missing: pip install boto3") from e
    kwargs: dict[str, Any] = {}
    if options.get("endpointurl"):
        kwargs["endpoint_url"] = options["endpointurl"]
    if options.get("access_key_id"):
        kwargs["aws_access_key_id"] = options["access_key_id"]
    if options.get("secret_access_key"):
        kwargs["aws_secret_access_key"] = options["secret_access_key"]
    if options.get("session_token"):
        kwargs["aws_session_token"] = options["session_token"]
    if options.get("region"):
        kwargs["region_name"] = options["region"]
    session = boto3.session.Session(profile_name=options["profile"]) if options.get(
        "profile") else boto3.session.Session()
    return session.client("s3", **kwargs)


def open_stores(layout: DvcLayout, root: Path) -> tuple[LocalStore | None, list[ObjectStore]]:
    """(cache, remotes) of a project; a remote of an unsupported kind raises naming the fix."""
    cache = LocalStore("cache", layout.cache_dir) if layout.cache_dir else None
    remotes: list[ObjectStore] = []
    for name, opts in sorted(layout.remotes.items()):
        url = opts.get("url", "")
        if url.startswith("s3://"):
            remotes.append(S3Store(name, url, opts))
        elif "://" not in url or url.startswith("file://"):
            path = Path(url.removeprefix("file://"))
            remotes.append(LocalStore(name, path if path.is_absolute() else root / ".dvc" / path))
        else:
            raise DvcError(
                f"DVC remote {name!r} ({url.split('://')[0]}://) is not supported by forget: "
                "supported are local folders and s3://; remove the subject's objects there by "
                "hand or add support in headforge.privacy.forget.dvcstore")
    return cache, remotes
