from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from headforge.io_utils import atomic_path, sha256_file, write_text_atomic


def test_sha256_file_matches_hashlib(tmp_path: Path) -> None:
    p = tmp_path / "x.bin"
    data = bytes(range(256)) * 5000
    p.write_bytes(data)
    assert sha256_file(p) == hashlib.sha256(data).hexdigest()


def test_atomic_file_write_replaces_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    write_text_atomic(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]  # no temporaries left


def test_atomic_directory_swap(tmp_path: Path) -> None:
    target = tmp_path / "subject"
    with atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "a.txt").write_text("1")
    with atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "b.txt").write_text("2")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["subject"]


def test_atomic_path_with_nothing_written_fails_and_keeps_old(tmp_path: Path) -> None:
    target = tmp_path / "t.txt"
    write_text_atomic(target, "keep")
    with pytest.raises(FileNotFoundError), atomic_path(target):
        pass
    assert target.read_text() == "keep"
