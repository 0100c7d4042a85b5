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


def test_gsplat_status_is_explained_without_crashing():
    st = backends.status("gsplat")
    assert isinstance(st.available, bool)
    if not st.available:
        assert st.detail  # e.g. "gsplat is not installed; install it with ..." or "needs CUDA"
