"""Fixtures: one built three-subject project per session, a private copy per test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from forget_fixture import REGISTRY_URL, build_project, copy_case

from headforge.privacy import Registry
from headforge.privacy.forget import ForgetSettings, load_settings


@pytest.fixture(scope="session")
def template_case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built project (slow: two `dvc repro` runs); tests copy it."""
    case = tmp_path_factory.mktemp("forget-template")
    mp = pytest.MonkeyPatch()
    mp.setenv("DVC_SITE_CACHE_DIR", str(case / "site"))
    try:
        build_project(case)
    finally:
        mp.undo()
    return case


@pytest.fixture
def case(template_case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the template case; DVC's site cache lives inside it."""
    copy_case(template_case, tmp_path / "case")
    shutil.rmtree(tmp_path / "case" / "site", ignore_errors=True)  # the template's, not ours
    monkeypatch.setenv("DVC_SITE_CACHE_DIR", str(tmp_path / "case" / "site"))
    monkeypatch.delenv("HEADFORGE_ROOT", raising=False)
    monkeypatch.delenv("HEADFORGE_REGISTRY_URL", raising=False)
    return tmp_path / "case"


@pytest.fixture
def root(case: Path) -> Path:
    return case / "proj"


@pytest.fixture
def reg(root: Path) -> Iterator[Registry]:
    r = Registry.from_url(REGISTRY_URL, root=root)
    yield r
    r.close()


@pytest.fixture
def settings(root: Path, case: Path) -> ForgetSettings:
    return load_settings(root, prefect_storage=[case / "prefect"])
