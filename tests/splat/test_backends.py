"""Optional-backend detection: generic probes, caching, failures recorded, clear errors."""

from __future__ import annotations

import pytest

from headforge import backends


def test_probe_registry_caches_and_reports():
    calls = []

    @backends.register_probe("fake_thing")
    def _probe() -> backends.BackendStatus:
        calls.append(1)
        return backends.BackendStatus("fake_thing", False, None, "not here; install fake")

    assert not backends.available("fake_thing")
    assert not backends.available("fake_thing")
    assert len(calls) == 1
    with pytest.raises(backends.BackendUnavailableError, match="install fake"):
        backends.require("fake_thing")
    assert "fake_thing" in backends.summary()


def test_failures_are_recorded_and_probe_errors_contained():
    @backends.register_probe("flaky")
    def _probe() -> backends.BackendStatus:
        raise RuntimeError("boom")

    st = backends.status("flaky")
    assert not st.available and "boom" in st.detail

    @backends.register_probe("ok_then_broken")
    def _ok() -> backends.BackendStatus:
        return backends.BackendStatus("ok_then_broken", True, "1.0")

    assert backends.available("ok_then_broken")
    backends.mark_failed("ok_then_broken", "JIT build failed")
    assert not backends.available("ok_then_broken")
    backends.reset("ok_then_broken")
    assert backends.available("ok_then_broken")


def test_probe_import_and_unknown_name():
    assert backends.probe_import("json").available
    st = backends.probe_import("surely_not_a_module_xyz", hint="pip install it")
    assert not st.available and "pip install it" in st.detail
    with pytest.raises(KeyError, match="registered probes"):
        backends.status("no_such_backend")


class _Spec:
    """Stands in for an installed package's import spec."""


@pytest.mark.parametrize("case", ["missing", "no_cuda", "build_fails", "no_nvcc", "ok"])
def test_gsplat_probe_explains_each_reason(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every branch of the gsplat probe, whatever is installed on this machine."""
    import importlib
    import types

    real_find, real_import = importlib.util.find_spec, importlib.import_module

    def find_spec(name: str, *a: object):
        if name == "gsplat":
            return None if case == "missing" else _Spec()
        return real_find(name, *a)

    def import_module(name: str, *a: object):
        if name != "gsplat.cuda._backend":
            return real_import(name, *a)
        if case == "build_fails":
            raise OSError("nvcc exited with status 1")
        return types.SimpleNamespace(_C=None if case == "no_nvcc" else object())

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.setattr(importlib, "import_module", import_module)
    monkeypatch.setattr(backends, "dist_version", lambda dist: "1.5.3")
    cuda_ok = case != "no_cuda"
    backends.register_probe("cuda")(
        lambda: backends.BackendStatus("cuda", cuda_ok, "12.4",
                                       "" if cuda_ok else "torch sees no CUDA device"))
    st = backends.status("gsplat")
    expected = {
        "missing": "gsplat is not installed; " + backends.GSPLAT_HINT,
        "no_cuda": "gsplat needs CUDA: torch sees no CUDA device",
        "build_fails": "gsplat's CUDA extension failed to build/load: nvcc exited with status 1",
        "no_nvcc": "gsplat found no CUDA toolkit (nvcc) to build its extension",
        "ok": "",
    }[case]
    assert st.name == "gsplat" and st.available == (case == "ok") and st.detail == expected
    assert st.version == (None if case == "missing" else "1.5.3")


def test_isolated_leaves_no_probe_or_status_behind() -> None:
    before = set(backends.summary())
    with backends.isolated():
        backends.register_probe("only_inside")(
            lambda: backends.BackendStatus("only_inside", True))
        backends.mark_failed("cuda", "marked inside")
        assert backends.available("only_inside") and not backends.available("cuda")
    assert set(backends.summary()) == before
    assert backends.status("cuda").detail != "marked inside"


@pytest.mark.parametrize("run", [1, 2])
def test_auto_backend_falls_back_with_one_warning(run: int) -> None:
    """On CUDA without a usable gsplat, ``auto`` picks torch and warns once per process; every
    test starts unwarned (run twice: the first run's warning must not leak into the second)."""
    import warnings

    import torch

    from headforge.splat import render

    backends.register_probe("gsplat")(
        lambda: backends.BackendStatus("gsplat", False, None, "gsplat is not installed"))
    cuda = torch.device("cuda")  # only its type is read: no GPU needed
    with pytest.warns(RuntimeWarning, match=r"gsplat unavailable on CUDA \(gsplat is not inst"):
        assert render._pick_backend("auto", cuda) == "torch"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert render._pick_backend("auto", cuda) == "torch"
        assert render._pick_backend("auto", torch.device("cpu")) == "torch"
