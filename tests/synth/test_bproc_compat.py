"""The BlenderProc shim: pure parts in-process, the real thing in a subprocess (pip bpy can
hang at interpreter exit, so it is never imported into the test process)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from blender import bproc_compat
from blender.bproc_compat import BlenderProcCompatError

ROOT = Path(__file__).resolve().parents[2]


def test_only_bpy_4_5_is_accepted() -> None:
    bproc_compat.check_bpy_version((4, 5, 15))
    for bad in ((5, 0, 0), (4, 2, 1)):
        with pytest.raises(BlenderProcCompatError, match="pip install 'bpy>=4.5,<4.6'"):
            bproc_compat.check_bpy_version(bad)


def test_missing_optional_modules_become_placeholders_that_explain_themselves() -> None:
    names = ("headforge_missing_pkg", "headforge_missing_pkg.cluster")
    try:
        assert bproc_compat.install_missing_module_stubs(names) == list(names)
        from headforge_missing_pkg.cluster import MeanShift  # type: ignore[import-not-found]

        with pytest.raises(BlenderProcCompatError, match="headforge_missing_pkg is not installed"):
            MeanShift(bandwidth=1.0)
        assert bproc_compat.install_missing_module_stubs(("json",)) == []
    finally:
        for n in names:
            sys.modules.pop(n, None)


def test_language_proxy_reports_english_and_delegates_everything_else() -> None:
    view = types.SimpleNamespace(language="DEFAULT", ui_scale=1.0)
    prefs = types.SimpleNamespace(view=view, addons={"cycles": 1})
    fake = types.SimpleNamespace(context=types.SimpleNamespace(preferences=prefs, scene="S"),
                                 data="D")
    proxy = bproc_compat._bpy_reporting_english(fake)
    assert proxy.context.preferences.view.language == "en_US"
    assert proxy.context.preferences.view.ui_scale == 1.0
    assert proxy.context.preferences.addons == {"cycles": 1}
    assert proxy.context.scene == "S" and proxy.data == "D"
    proxy.context.scene = "T"
    assert fake.context.scene == "T" and view.language == "DEFAULT"


SCRIPT = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, sys.argv[1])
    from blender import bproc_compat
    code = 1
    try:
        bproc = bproc_compat.init(sys.argv[2])
        import bpy, numpy as np
        cube = bproc.object.create_primitive("CUBE")
        cube.set_cp("category_id", 5)
        bproc.camera.set_resolution(16, 16)
        pose = np.eye(4); pose[2, 3] = 6.0
        bproc.camera.add_camera_pose(pose)
        bproc.renderer.set_max_amount_of_samples(1)
        bproc.renderer.set_denoiser(None)
        bproc.renderer.enable_segmentation_output(map_by=["category_id"],
                                                  default_values={"category_id": 0})
        data = bproc.renderer.render()
        seg = np.asarray(data["category_id_segmaps"][0])
        print(json.dumps({"bpy": bpy.app.version_string,
                          "language": bpy.context.preferences.view.language,
                          "colors": list(np.asarray(data["colors"][0]).shape),
                          "ids": sorted(int(x) for x in np.unique(seg))}))
        code = 0
    finally:
        bproc_compat.exit_process(code)
""")


@pytest.mark.blender
def test_blenderproc_initialises_and_renders_segmentation_with_pip_bpy(tmp_path) -> None:
    res = subprocess.run([sys.executable, "-c", SCRIPT, str(ROOT), str(tmp_path / "bp")],
                         capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["bpy"].startswith("4.5")
    assert out["language"] == "DEFAULT"  # the shim never writes the preference
    assert out["colors"] == [16, 16, 3]
    assert out["ids"] == [0, 5]  # background and the cube's category
