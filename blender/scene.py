"""Blender scene for one synthetic identity: head parts, proxies, materials, lights, cameras.

Runs inside the render subprocess (imports ``bpy``). Geometry comes from the job arrays and
:mod:`synth.assets`; every mesh object carries a BlenderProc ``category_id`` custom property so
BlenderProc's segmentation output maps its object-index pass to part categories.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bpy
import numpy as np

from blender.assets import Asset, HeadRegions, build_assets
from blender.job import Camera, Identity, Job, JobError
from blender.meshops import vertex_normals

HEAD_CENTER = np.array([0.0, -0.01, 0.0])
"""Point the lights aim at (metres)."""

# name -> (world strength, world colour, lights). A light: (type, azimuth deg, elevation deg,
# distance m, power W (sun: W/m^2), size m (sun: angle deg), colour).
LIGHT_SETUPS: dict[str, tuple[float, tuple[float, float, float], list[tuple[Any, ...]]]] = {
    "studio": (0.25, (1.0, 1.0, 1.0), [
        ("AREA", 35.0, 25.0, 1.2, 65.0, 0.6, (1.0, 0.97, 0.92)),
        ("AREA", -55.0, 10.0, 1.2, 25.0, 0.9, (0.92, 0.95, 1.0)),
        ("AREA", 170.0, 45.0, 1.0, 40.0, 0.4, (1.0, 1.0, 1.0)),
    ]),
    "soft": (0.45, (1.0, 0.98, 0.95), [
        ("AREA", 0.0, 55.0, 1.0, 70.0, 1.6, (1.0, 1.0, 1.0)),
    ]),
    "sun": (0.35, (0.75, 0.85, 1.0), [
        ("SUN", 40.0, 50.0, 0.0, 2.4, 2.0, (1.0, 0.95, 0.85)),
    ]),
    "dramatic": (0.08, (1.0, 1.0, 1.0), [
        ("AREA", 85.0, 20.0, 1.0, 80.0, 0.35, (1.0, 0.9, 0.8)),
        ("AREA", -120.0, 30.0, 1.2, 15.0, 0.5, (0.7, 0.8, 1.0)),
    ]),
}


def blender_c2w_to_opencv_w2c(c2w: np.ndarray) -> np.ndarray:
    """Blender camera-to-world [4, 4] (looks down -Z, +Y up) to OpenCV world-to-camera."""
    c = np.asarray(c2w, dtype=np.float64).copy()
    c[:3, 1:3] *= -1.0
    return np.linalg.inv(c)


def opencv_w2c_to_blender_c2w(w2c: np.ndarray) -> np.ndarray:
    """Inverse of :func:`blender_c2w_to_opencv_w2c`."""
    c = np.linalg.inv(np.asarray(w2c, dtype=np.float64))
    c[:3, 1:3] *= -1.0
    return c


def to_blenderproc_K(K: np.ndarray) -> np.ndarray:
    """headforge K (pixel ``i`` covers [i, i+1)) to BlenderProc's (pixel centres at integers)."""
    out = np.asarray(K, dtype=np.float64).copy()
    out[:2, 2] -= 0.5
    return out


def from_blenderproc_K(K: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_blenderproc_K`."""
    out = np.asarray(K, dtype=np.float64).copy()
    out[:2, 2] += 0.5
    return out


def configure_renderer(bproc: Any, job: Job) -> None:
    """Deterministic Cycles on the CPU: fixed samples and threads, no adaptive sampling or
    denoiser, sRGB 'Standard' view, transparent film, RGBA 8-bit PNG, segmentation output."""
    scene = bpy.context.scene
    bproc.renderer.set_render_devices(use_only_cpu=True)
    bproc.renderer.set_max_amount_of_samples(job.samples)
    bproc.renderer.set_noise_threshold(0)
    bproc.renderer.set_denoiser(None)
    bproc.renderer.set_cpu_threads(job.threads)
    bproc.renderer.set_light_bounces(diffuse_bounces=2, glossy_bounces=1, ao_bounces_render=0,
                                     max_bounces=3, transmission_bounces=0,
                                     transparent_max_bounces=2, volume_bounces=0)
    bproc.renderer.set_output_format(file_format="PNG", color_depth=8, enable_transparency=True,
                                     view_transform="AgX")
    scene.view_settings.look = "None"
    scene.cycles.use_animated_seed = False
    scene.cycles.pixel_filter_type = "BLACKMAN_HARRIS"
    scene.cycles.filter_width = 1.5
    scene.render.use_persistent_data = True
    bproc.renderer.enable_segmentation_output(map_by=["category_id"],
                                              default_values={"category_id": 0})


def set_cameras(bproc: Any, cameras: list[Camera], width: int, height: int) -> None:
    """One camera pose per frame (frame i = camera i); all cameras must share K."""
    k0 = cameras[0].K
    for cam in cameras[1:]:
        if not np.allclose(cam.K, k0, atol=1e-9):
            raise JobError(f"camera {cam.name}: intrinsics differ from {cameras[0].name}; "
                           "BlenderProc keeps one K per scene, so give every camera the same K")
    bproc.camera.set_intrinsics_from_K_matrix(to_blenderproc_K(k0), width, height,
                                              clip_start=0.05, clip_end=20.0)
    for i, cam in enumerate(cameras):
        bproc.camera.add_camera_pose(opencv_w2c_to_blender_c2w(cam.w2c), frame=i)


def read_cameras(bproc: Any, cameras: list[Camera]) -> list[dict[str, Any]]:
    """K and OpenCV w2c per camera as Blender holds them (what was actually rendered)."""
    K = from_blenderproc_K(np.asarray(bproc.camera.get_intrinsics_as_K_matrix()))
    out = []
    for i, cam in enumerate(cameras):
        w2c = blender_c2w_to_opencv_w2c(np.asarray(bproc.camera.get_camera_pose(frame=i)))
        out.append({"name": cam.name, "K": K.tolist(), "w2c": w2c.tolist()})
    return out


def _mesh(name: str, vertices: np.ndarray, faces: np.ndarray,
          uvs: np.ndarray | None = None) -> bpy.types.Object:
    """A smooth-shaded mesh object linked to the scene; ``uvs`` are per corner [F, 3, 2]."""
    me = bpy.data.meshes.new(name)
    me.from_pydata(vertices.astype(np.float64).tolist(), [], faces.astype(np.int64).tolist())
    if uvs is not None:
        layer = me.uv_layers.new(name="UVMap")
        layer.data.foreach_set("uv", uvs.reshape(-1).astype(np.float32))
    me.shade_smooth()
    me.update()
    obj = bpy.data.objects.new(name, me)
    bpy.context.scene.collection.objects.link(obj)
    return obj


def _set_coords(obj: bpy.types.Object, vertices: np.ndarray, normals: np.ndarray | None) -> None:
    me = obj.data
    me.vertices.foreach_set("co", vertices.reshape(-1).astype(np.float32))
    if normals is not None:
        me.normals_split_custom_set_from_vertices(normals.astype(np.float64).tolist())
    me.update()


def _principled(name: str) -> tuple[bpy.types.Material, Any, Any]:
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    return mat, nodes["Principled BSDF"], (nodes, links)


def _texture_material(name: str, image: bpy.types.Image, roughness: float,
                      specular: float) -> bpy.types.Material:
    mat, bsdf, (nodes, links) = _principled(name)
    tex = nodes.new("ShaderNodeTexImage")
    tex.image = image
    tex.interpolation = "Linear"
    links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
    bsdf.inputs["Roughness"].default_value = roughness
    bsdf.inputs["Specular IOR Level"].default_value = specular
    return mat


def _flat_material(name: str, color: list[float], roughness: float) -> bpy.types.Material:
    mat, bsdf, _ = _principled(name)
    bsdf.inputs["Base Color"].default_value = (*color[:3], 1.0)
    bsdf.inputs["Roughness"].default_value = roughness
    bsdf.inputs["Specular IOR Level"].default_value = 0.3
    return mat


def _hair_material(name: str, color: list[float], roughness: float, streak_scale: float,
                   coverage: float = 1.0) -> bpy.types.Material:
    """Hair colour with fine vertical streaks (noise stretched along y) for a strand look;
    ``coverage`` < 1 lets the skin show through (stubble)."""
    mat, bsdf, (nodes, links) = _principled(name)
    if coverage < 1.0:
        bsdf.inputs["Alpha"].default_value = coverage
    coord = nodes.new("ShaderNodeTexCoord")
    mapping = nodes.new("ShaderNodeMapping")
    mapping.inputs["Scale"].default_value = (streak_scale, streak_scale / 25.0, streak_scale)
    noise = nodes.new("ShaderNodeTexNoise")
    noise.inputs["Detail"].default_value = 3.0
    mix = nodes.new("ShaderNodeMix")
    mix.data_type = "RGBA"
    dark = [0.55 * c for c in color[:3]]
    light = [min(1.0, 1.35 * c + 0.02) for c in color[:3]]
    mix.inputs["A"].default_value = (*dark, 1.0)
    mix.inputs["B"].default_value = (*light, 1.0)
    links.new(coord.outputs["Object"], mapping.inputs["Vector"])
    links.new(mapping.outputs["Vector"], noise.inputs["Vector"])
    links.new(noise.outputs["Fac"], mix.inputs["Factor"])
    links.new(mix.outputs["Result"], bsdf.inputs["Base Color"])
    bsdf.inputs["Roughness"].default_value = roughness
    bsdf.inputs["Specular IOR Level"].default_value = 0.45
    return mat


def _look_rotation(position: np.ndarray, target: np.ndarray) -> Any:
    import mathutils

    forward = mathutils.Vector((target - position).tolist())
    return forward.to_track_quat("-Z", "Y").to_euler()


def add_lights(setup: str, azimuth_deg: float, strength: float) -> list[bpy.types.ID]:
    """Lights of ``setup`` rotated by ``azimuth_deg`` about the vertical axis; returns the
    created data-blocks (objects and light data)."""
    if setup not in LIGHT_SETUPS:
        raise JobError(f"lighting setup {setup!r} is not one of {sorted(LIGHT_SETUPS)}")
    world_strength, world_color, lights = LIGHT_SETUPS[setup]
    world = bpy.context.scene.world
    world.use_nodes = True
    bg = world.node_tree.nodes["Background"]
    bg.inputs["Color"].default_value = (*world_color, 1.0)
    bg.inputs["Strength"].default_value = world_strength * strength
    created: list[bpy.types.ID] = []
    for i, (kind, az, el, dist, power, size, color) in enumerate(lights):
        data = bpy.data.lights.new(f"light_{i}", type=kind)
        data.energy = power * strength
        data.color = color
        if kind == "AREA":
            data.size = size
        else:
            data.angle = math.radians(size)
        obj = bpy.data.objects.new(f"light_{i}", data)
        bpy.context.scene.collection.objects.link(obj)
        a, e = math.radians(az + azimuth_deg), math.radians(el)
        d = np.array([math.cos(e) * math.sin(a), math.sin(e), math.cos(e) * math.cos(a)])
        pos = HEAD_CENTER + (dist if kind == "AREA" else 5.0) * d
        obj.location = pos.tolist()
        obj.rotation_euler = _look_rotation(pos, HEAD_CENTER)
        created += [obj, data]
    return created


@dataclass
class _Part:
    obj: bpy.types.Object
    vertex_ids: np.ndarray  # [k] into the head's vertices (head parts only)


class HeadScene:
    """All objects of one identity; :meth:`pose` moves them to one expression."""

    def __init__(self, bproc: Any, job: Job, ident: Identity, albedo_path: Path) -> None:
        self.bproc = bproc
        self.faces = job.faces
        self.created: list[bpy.types.ID] = []
        self.parts: list[_Part] = []
        self.assets: list[tuple[Asset, bpy.types.Object]] = []
        try:
            self._build(job, ident, albedo_path)
        except BaseException:
            self.remove()  # a broken asset leaves nothing behind in the scene
            raise

    def _build(self, job: Job, ident: Identity, albedo_path: Path) -> None:
        mats = ident.materials
        image = bpy.data.images.load(str(albedo_path), check_existing=False)
        image.colorspace_settings.name = "sRGB"
        skin = _texture_material("skin", image, float(mats.get("skin_roughness", 0.5)), 0.35)
        eyes = _texture_material("eyes", image, 0.06, 0.6)
        mouth = _texture_material("mouth", image, 0.35, 0.3)
        hair_color = list(ident.hair.get("color", [0.1, 0.07, 0.05]))
        beard_color = list(ident.beard.get("color", hair_color))
        hair = _hair_material("hair", hair_color, float(ident.hair.get("roughness", 0.45)), 900.0)
        stubble = ident.beard.get("style") == "stubble"
        beard = _hair_material("beard", beard_color, 0.6, 1400.0, 0.45 if stubble else 1.0)
        torso = _flat_material("torso", list(mats.get("skin_color", [0.6, 0.45, 0.38])), 0.55)
        self.created += [image, skin, eyes, mouth, hair, beard, torso]
        by_category = {"eyes": eyes, "mouth": mouth}
        neutral = ident.vertices[0].astype(np.float64)
        normals = vertex_normals(neutral, job.faces)
        corner_uv = job.uvs[job.uv_faces]  # [F, 3, 2]
        face_part = _face_parts(job.faces, job.part_labels)
        for p, part in enumerate(job.part_names):
            sel = face_part == p
            if not sel.any():
                continue
            ids, local = np.unique(job.faces[sel], return_inverse=True)
            obj = _mesh(f"head_{part}", neutral[ids], local.reshape(-1, 3), corner_uv[sel])
            category = job.part_categories[part]
            obj.data.materials.append(by_category.get(category, skin))
            self._tag(obj, job.categories[category])
            _set_coords(obj, neutral[ids], normals[ids])
            self.parts.append(_Part(obj, ids))
        regions = HeadRegions(neutral, job.faces, job.part_labels, job.part_names)
        for asset in build_assets(regions, ident.hair, ident.beard, ident.seed):
            verts = asset.place(neutral, normals)
            obj = _mesh(asset.name, verts, asset.faces)
            mat = {"hair": hair, "beard": beard}.get(asset.category, torso)
            obj.data.materials.append(mat)
            self._tag(obj, job.categories[asset.category])
            self.assets.append((asset, obj))
        light = ident.lighting
        self.created += add_lights(str(light["setup"]), float(light.get("azimuth_deg", 0.0)),
                                   float(light.get("strength", 1.0)))
        _index_objects()

    def _tag(self, obj: bpy.types.Object, category: int) -> None:
        self.bproc.types.MeshObject(obj).set_cp("category_id", category)
        self.created += [obj, obj.data]

    def pose(self, vertices: np.ndarray) -> None:
        """Move every head part and proxy to one expression's head vertices [V, 3]."""
        v = vertices.astype(np.float64)
        n = vertex_normals(v, self.faces)
        for part in self.parts:
            _set_coords(part.obj, v[part.vertex_ids], n[part.vertex_ids])
        for asset, obj in self.assets:
            _set_coords(obj, asset.place(v, n), None)

    def remove(self) -> None:
        """Delete every data-block this identity created."""
        collections = {bpy.types.Object: bpy.data.objects, bpy.types.Mesh: bpy.data.meshes,
                       bpy.types.Material: bpy.data.materials, bpy.types.Image: bpy.data.images}
        for block in self.created:  # objects first: they hold the other blocks
            for kind, coll in collections.items():
                if isinstance(block, kind):
                    coll.remove(block)
                    break
            else:
                bpy.data.lights.remove(block)
        self.created.clear()


def _face_parts(faces: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Part index per face [F]: the majority label of its corners (first corner on a tie)."""
    lab = labels[faces]  # [F, 3]
    out = lab[:, 0].copy()
    out[lab[:, 1] == lab[:, 2]] = lab[lab[:, 1] == lab[:, 2], 1]
    return out


def _index_objects() -> None:
    """Give mesh objects the object-pass indices BlenderProc's segmentation mapping reads
    (the numbering ``enable_segmentation_output`` applies, redone after the scene changed)."""
    from blenderproc.python.utility.BlenderUtility import get_all_blender_mesh_objects

    for index, obj in enumerate(get_all_blender_mesh_objects()):
        obj.pass_index = index + 1
