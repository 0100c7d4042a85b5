"""Unit tests: pseudonym matching, content fragments, decoders, manifest rewrite, journal."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pandas as pd
import pytest
from forget_fixture import crop_png, prefect_result

from headforge.privacy.forget import ContentIndex, Markers, pseudonym_pattern, rewrite_manifest
from headforge.privacy.forget.apply import plan_from_json, plan_to_json, redact_lines
from headforge.privacy.forget.history import outs_of
from headforge.privacy.forget.markers import entropy, find_in_blob, fragments_of
from headforge.privacy.forget.model import Action, ForgetPlan, Kind


@pytest.mark.parametrize("text,hit", [
    ("inbox/s0001/img_0.png", True), ("assets/s0001_render.png", True),
    ('{"subject": "s0001"}', True), ("s0001", True), ("s00012/x", False),
    ("as0001", False), ("s0001b", False), ("s0001-b/frame.png", False),
    ("s0001-c/frame.png", True), ("x-s0001/frame.png", False),
])
def test_pseudonym_is_matched_as_a_whole_token(text: str, hit: bool) -> None:
    pat = pseudonym_pattern("s0001", others=["s0001-b", "x-s0001", "s0002"])
    assert (pat.search(text.encode()) is not None) is hit


def test_markers_tell_own_paths_from_other_subjects() -> None:
    m = Markers.build("s0001", ["s0001", "s0002", "s0003"])
    assert m.names("data/captures/s0001/frame_000.png")
    assert not m.names("data/captures/s0002/frame_000.png")
    assert m.names_other("data/captures/s0002/frame_000.png")
    assert not m.names_other("data/captures/s0001/frame_000.png")


def test_fragments_come_only_from_high_entropy_content() -> None:
    png = crop_png(0, 0)
    frags = fragments_of(png)
    assert len(frags) == 2 and all(entropy(f) >= 5.0 for f in frags)
    text = json.dumps({"K": [[500.0, 0.0, 256.0]] * 40}).encode()
    assert fragments_of(text) == []
    assert fragments_of(bytes(4096)) == []


def _index_of(*blobs: bytes) -> Markers:
    m = Markers.build("s0001", ["s0002"])
    for b in blobs:
        m.index.add(b)
    return m


def test_embedded_copies_are_found_through_encodings() -> None:
    png, other = crop_png(0, 0), crop_png(1, 0)
    m = _index_of(png)
    assert find_in_blob(png, m).identical
    html = b'<img src="data:image/png;base64,' + base64.b64encode(b"xx" + png) + b'">'
    assert find_in_blob(html, m).embeds
    result = prefect_result("someone", png).replace(b"someone", b"anon")
    assert find_in_blob(result, m).embeds  # base64 with \n escapes, inside a pickle
    buf = io.BytesIO()
    np.savez_compressed(buf, img=np.frombuffer(png, np.uint8))
    assert find_in_blob(buf.getvalue(), m).embeds  # deflated zip member
    assert not find_in_blob(other, m)
    assert not find_in_blob(b'<img src="data:image/png;base64,' + base64.b64encode(other), m)


def test_names_in_text_and_parquet_cells_but_not_in_short_binary_noise() -> None:
    m = _index_of()
    assert find_in_blob(b"ingest s0001: 2 frames\n", m).names
    buf = io.BytesIO()
    pd.DataFrame({"subject": ["s0002", "s0001"], "frame": [0, 1]}).to_parquet(buf)
    assert find_in_blob(buf.getvalue(), m).names
    short = Markers.build("s01", [])
    assert not find_in_blob(b"\x00\x89s01\x00" + bytes(100), short)  # binary, 3-char id
    assert find_in_blob(b"subject s01 done", short).names


def test_rewrite_manifest_keeps_other_rows_identical(tmp_path) -> None:
    df = pd.DataFrame({
        "subject": ["s0001", "s0002", "s0001", "s0003"],
        "frame": [0, 0, 1, 0],
        "path": ["data/captures/s0001/f0.png", "data/captures/s0002/f0.png",
                 "data/captures/s0001/f1.png", "data/captures/s0003/f0.png"],
        "K": [np.eye(3).ravel() * i for i in range(4)],
    })
    p = tmp_path / "manifest.parquet"
    df.to_parquet(p)
    assert rewrite_manifest(p, "s0001", ["s0002", "s0003"]) == 2
    out = pd.read_parquet(p)
    expected = df[df.subject != "s0001"].reset_index(drop=True)
    pd.testing.assert_frame_equal(out, expected)
    before = p.read_bytes()
    assert rewrite_manifest(p, "s0001", []) == 0  # idempotent: nothing left to drop
    assert p.read_bytes() == before


def test_redact_drops_only_lines_naming_the_subject(tmp_path) -> None:
    p = tmp_path / "run.log"
    p.write_text("start\ningest s0001: 2\ningest s00010: 1\nend s0001\n")
    assert redact_lines(p, "s0001", ["s00010"]) == 2
    assert p.read_text() == "start\ningest s00010: 1\n"


def test_plan_survives_the_journal_round_trip() -> None:
    idx = ContentIndex()
    idx.add(crop_png(0, 1))
    plan = ForgetPlan("s0001", "a" * 64, None, [
        Action(Kind.WITHDRAW, "registry", "all", 2),
        Action(Kind.DELETE, "workspace", "inbox/s0001/a.png", 10, "x", "ingest"),
        Action(Kind.QUEUE_RETRAIN, "workspace", "results/train_prior/R.json", 0, "r",
               "train_prior", ("results/train_prior/adapted",)),
    ], idx, {"b" * 32}, {"train_prior": ["results/train_prior/adapted"]}, ["train_prior"])
    back = plan_from_json(json.loads(json.dumps(plan_to_json(plan))))
    assert [a.id for a in back.actions] == [a.id for a in plan.actions]
    assert back.actions[0].kind is Kind.DELETE  # apply order: data before registry
    assert back.index.fragments == idx.fragments and back.subject_oids == plan.subject_oids
    assert back.retrain == plan.retrain and back.retrain_stages == ["train_prior"]


def test_outs_of_reads_lock_and_dvc_files() -> None:
    lock = b"""schema: '2.0'
stages:
  ingest:
    cmd: python x.py
    deps:
    - path: inbox
      md5: 0123456789abcdef0123456789abcdef.dir
    outs:
    - path: data/captures
      md5: fedcba9876543210fedcba9876543210.dir
"""
    assert outs_of("dvc.lock", lock) == [
        ("inbox", "0123456789abcdef0123456789abcdef.dir"),
        ("data/captures", "fedcba9876543210fedcba9876543210.dir")]
    dvcfile = b"outs:\n- md5: 0123456789abcdef0123456789abcdef\n  path: raw.bin\n"
    assert outs_of("sub/raw.bin.dvc", dvcfile) == [
        ("sub/raw.bin", "0123456789abcdef0123456789abcdef")]
    assert outs_of("dvc.lock", b": not yaml [") == []
