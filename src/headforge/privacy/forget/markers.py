"""What identifies one subject's data: the pseudonym, content hashes and embedded fragments.

A file or object holds the subject's data when

- its path names the subject (``inbox/s0042/...``, ``assets/s0042_0.png``): :meth:`Markers.names`;
- its bytes equal one of the subject's files (MD5 as DVC addresses it, or SHA-256 as lineage
  records it): :class:`ContentIndex`;
- its bytes mention the pseudonym, or embed a high-entropy fragment of one of the subject's files
  (a PNG copied into a pickle, a zip, or base64 inside an HTML/JSON page): :func:`find_in_blob`.

Matching the pseudonym is boundary-aware: ``s001`` does not match inside ``s0010``, nor inside
another registered id such as ``s001-b``.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import io
import math
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

_ALNUM = rb"A-Za-z0-9"
FRAGMENT_LEN = 48
"""Bytes in one embedded-content fragment."""
FRAGMENT_MIN_ENTROPY = 5.0
"""Bits per byte a fragment must reach (text and flat image regions stay below, so a fragment
never matches another subject's file by accident)."""
FRAGMENT_MIN_FILE = 256
"""Files smaller than this get no fragments (they are found by hash)."""
MAX_VIEW_BYTES = 256 << 20
"""Decoded views (zip members, base64 payloads) larger than this are not searched."""
BINARY_NAME_MIN_LEN = 5
"""Shortest pseudonym that is also searched inside binary (non-text) bytes."""
_B64_RUN = re.compile(rb"(?:[A-Za-z0-9+/]|\\n){64,}={0,2}")


def pseudonym_pattern(subject: str, others: Iterable[str] = ()) -> re.Pattern[bytes]:
    """Bytes regex matching ``subject`` as a whole token, never inside a longer known id.

    ``others`` are the other registered subject ids: an id that extends ``subject`` (``s1-b``
    for ``s1``) is excluded by a look-ahead, one that ends with it (``x-s1``) by a look-behind.
    """
    sid = subject.encode()
    guards: list[bytes] = []
    for other in sorted(set(others) - {subject}):
        o = other.encode()
        if o.startswith(sid):
            guards.append(b"(?!" + re.escape(o[len(sid):]) + rb"(?![" + _ALNUM + rb"]))")
        if o.endswith(sid):
            guards.insert(0, b"(?<!" + re.escape(o[: -len(sid)]) + b")")
    behind = [g for g in guards if g.startswith(b"(?<!")]
    ahead = [g for g in guards if g.startswith(b"(?!")]
    core = rb"(?<![" + _ALNUM + rb"])" + b"".join(behind) + re.escape(sid)
    return re.compile(core + rb"(?![" + _ALNUM + rb"])" + b"".join(ahead))


def entropy(window: bytes) -> float:
    """Shannon entropy of ``window`` in bits per byte."""
    n = len(window)
    if n == 0:
        return 0.0
    return -sum(c / n * math.log2(c / n) for c in Counter(window).values())


def fragments_of(data: bytes, count: int = 2) -> list[bytes]:
    """Up to ``count`` high-entropy windows of ``data`` (empty for small or low-entropy files)."""
    if len(data) < FRAGMENT_MIN_FILE:
        return []
    out: list[bytes] = []
    step = max(1, (len(data) - FRAGMENT_LEN) // 17)
    # candidate offsets spread over the file, middle first (headers are shared by format)
    offsets = sorted(range(FRAGMENT_LEN * 2, len(data) - FRAGMENT_LEN, step),
                     key=lambda o: abs(o - len(data) // 2))
    for off in offsets:
        w = data[off: off + FRAGMENT_LEN]
        if entropy(w) >= FRAGMENT_MIN_ENTROPY and w not in out:
            out.append(w)
            if len(out) == count:
                break
    return out


@dataclasses.dataclass
class ContentIndex:
    """Hashes, sizes and fragments of the subject's files (content-addressed identity)."""

    md5: set[str] = dataclasses.field(default_factory=set)
    sha256: set[str] = dataclasses.field(default_factory=set)
    sizes: set[int] = dataclasses.field(default_factory=set)
    fragments: list[bytes] = dataclasses.field(default_factory=list)

    def add(self, data: bytes, fragments: bool = True) -> tuple[str, str]:
        """Index ``data``; returns its (md5, sha256)."""
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        sha = hashlib.sha256(data).hexdigest()
        self.md5.add(md5)
        self.sha256.add(sha)
        self.sizes.add(len(data))
        if fragments:
            for f in fragments_of(data):
                if f not in self.fragments:
                    self.fragments.append(f)
        return md5, sha

    def add_hashes(self, md5: str, sha256: str, size: int) -> None:
        """Index a file known by its hashes only (too large to read whole)."""
        self.md5.add(md5)
        self.sha256.add(sha256)
        self.sizes.add(size)

    def drop(self, md5s: Iterable[str]) -> None:
        """Forget hashes that turned out to be shared with other subjects."""
        self.md5.difference_update(md5s)

    def matches(self, data: bytes) -> bool:
        """True when ``data`` is byte-identical to one of the indexed files."""
        if len(data) not in self.sizes:
            return False
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        return md5 in self.md5 or hashlib.sha256(data).hexdigest() in self.sha256

    def to_json(self, with_fragments: bool) -> dict[str, list]:
        """Plain JSON form (fragments are bytes of the subject's data: journal-only)."""
        d: dict[str, list] = {"md5": sorted(self.md5), "sha256": sorted(self.sha256),
                              "sizes": sorted(self.sizes)}
        if with_fragments:
            d["fragments"] = [f.hex() for f in self.fragments]
        return d

    @classmethod
    def from_json(cls, d: dict[str, list]) -> ContentIndex:
        return cls(set(d.get("md5", [])), set(d.get("sha256", [])), set(d.get("sizes", [])),
                   [bytes.fromhex(h) for h in d.get("fragments", [])])

    def merge(self, other: ContentIndex) -> None:
        self.md5 |= other.md5
        self.sha256 |= other.sha256
        self.sizes |= other.sizes
        self.fragments += [f for f in other.fragments if f not in self.fragments]


@dataclasses.dataclass
class Markers:
    """Everything that identifies one subject's data."""

    subject: str
    pattern: re.Pattern[bytes]
    others: re.Pattern[bytes] | None
    """Matches any other registered subject's id (paths that belong to someone else)."""
    index: ContentIndex

    @property
    def binary_names(self) -> bool:
        """Search binary bytes for the pseudonym too: only for ids of 5+ characters, where a
        chance match in compressed data is negligible (about 1e-12 per byte)."""
        return len(self.subject) >= BINARY_NAME_MIN_LEN

    @classmethod
    def build(cls, subject: str, known: Iterable[str]) -> Markers:
        known = sorted(set(known) - {subject})
        others = None
        if known:
            alts = b"|".join(re.escape(k.encode()) for k in sorted(known, key=len, reverse=True))
            others = re.compile(rb"(?<![" + _ALNUM + rb"])(?:" + alts + rb")(?![" + _ALNUM + rb"])")
        return cls(subject, pseudonym_pattern(subject, known), others, ContentIndex())

    def names(self, relpath: str) -> bool:
        """True when the path names the subject."""
        return self.pattern.search(relpath.encode()) is not None

    def names_other(self, relpath: str) -> bool:
        """True when the path names another registered subject."""
        return self.others is not None and self.others.search(relpath.encode()) is not None


def parquet_text(data: bytes) -> bytes:
    """The text cells of a Parquet file, one per line (so a pseudonym in a column is found)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception:  # not a readable Parquet file: nothing to decode
        return b""
    parts: list[str] = []
    for col in table.columns:
        t = col.type
        if pa.types.is_dictionary(t):
            t = t.value_type
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            parts.extend(str(v) for v in col.to_pylist() if v is not None)
    return "\n".join(parts).encode()


def is_text(data: bytes) -> bool:
    """Heuristic: no NUL byte in the first 8 KiB."""
    return b"\x00" not in data[:8192]


def blob_views(data: bytes, depth: int = 0) -> Iterator[bytes]:
    """``data`` and what it encodes: Parquet cells, zip members, base64 runs (one level deep)."""
    yield data
    if depth > 1:
        return
    if data[:4] == b"PAR1":
        yield parquet_text(data)
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for info in zf.infolist():
                    if info.file_size <= MAX_VIEW_BYTES and info.compress_type != zipfile.ZIP_STORED:
                        yield from blob_views(zf.read(info), depth + 1)
        except (zipfile.BadZipFile, OSError, NotImplementedError, EOFError):
            pass
    if is_text(data):  # JSON results, HTML data URIs, logs
        for m in _B64_RUN.finditer(data):
            run = m.group(0).replace(b"\\n", b"")
            run = run[: len(run) - len(run) % 4]
            if len(run) > MAX_VIEW_BYTES:
                continue
            try:
                yield from blob_views(base64.b64decode(run, validate=False), depth + 1)
            except (binascii.Error, ValueError):
                continue


@dataclasses.dataclass(frozen=True)
class BlobFinding:
    """Why a blob holds the subject's data (all False: it does not)."""

    identical: bool = False
    names: bool = False
    embeds: bool = False

    def __bool__(self) -> bool:
        return self.identical or self.names or self.embeds

    @property
    def reason(self) -> str:
        return ("copy of the subject's file" if self.identical else
                "names the subject" if self.names else
                "embeds the subject's content" if self.embeds else "clean")


def find_in_blob(data: bytes, markers: Markers) -> BlobFinding:
    """Does ``data`` (or what it encodes) hold the subject's content or name it?"""
    if markers.index.matches(data):
        return BlobFinding(identical=True)
    for view in blob_views(data):
        if (markers.binary_names or is_text(view)) and markers.pattern.search(view):
            return BlobFinding(names=True)
        if any(f in view for f in markers.index.fragments):
            return BlobFinding(embeds=True)
    return BlobFinding()


def hash_file(path: Path) -> tuple[str, str]:
    """(md5, sha256) of a file, streamed."""
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            md5.update(block)
            sha.update(block)
    return md5.hexdigest(), sha.hexdigest()


def read_limited(path: Path, limit: int) -> bytes | None:
    """The file's bytes, or None when it is larger than ``limit`` (or unreadable)."""
    try:
        if path.stat().st_size > limit:
            return None
        return path.read_bytes()
    except OSError:
        return None
