// The headforge avatar viewer: loads avatar.json/.bin and animation.json from its own folder,
// evaluates skinning + Gaussian blendshapes per frame (avatar.js) and draws the splats with
// Spark on three.js. Orbit controls; play/pause; a frame slider.
// URL options: ?frame=N (start frame), paused=1, width=W&height=H (canvas size in CSS px).
// Tests read window.headforge (ready, rendered, frame, setFrame, play, pause, renderer).

import { PackedSplats, SparkRenderer, SplatMesh, setPackedSplat } from "@sparkjsdev/spark";
import * as THREE from "three";
import { OrbitControls } from "three/addons/controls/OrbitControls.js";
import { BakedAvatar, frameParams } from "./avatar.js";

const state = {
  ready: false, rendered: 0, frame: 0, playing: true, updates: 0, error: null, renderer: "",
};
window.headforge = state;

function cameraFromView(view, width, height) {
  // OpenCV K and world-to-camera -> a three.js camera drawing the same picture at width x height
  const s = height / view.height;
  const fx = view.K[0][0] * s, fy = view.K[1][1] * s;
  const cx = view.K[0][2] * s + (width - view.width * s) / 2, cy = view.K[1][2] * s;
  const near = 0.01, far = 100;
  const cam = new THREE.PerspectiveCamera(2 * Math.atan(height / (2 * fy)) * 180 / Math.PI,
    width / height, near, far);
  const P = new THREE.Matrix4().set(
    2 * fx / width, 0, 1 - 2 * cx / width, 0,
    0, 2 * fy / height, 2 * cy / height - 1, 0,
    0, 0, -(far + near) / (far - near), -2 * far * near / (far - near),
    0, 0, -1, 0);
  cam.projectionMatrix.copy(P);
  cam.projectionMatrixInverse.copy(P).invert();
  const w2c = new THREE.Matrix4().set(...view.w2c.flat());
  const c2w = w2c.invert().multiply(new THREE.Matrix4().makeScale(1, -1, -1));
  c2w.decompose(cam.position, cam.quaternion, cam.scale);
  cam.updateMatrixWorld(true);
  return cam;
}

async function load(name, kind) {
  const r = await fetch(name);
  if (!r.ok) throw new Error(`${name}: HTTP ${r.status}`);
  return kind === "json" ? r.json() : r.arrayBuffer();
}

async function main() {
  const q = new URLSearchParams(location.search);
  const [header, buffer, anim] = await Promise.all([
    load("avatar.json", "json"), load("avatar.bin", "bin"), load("animation.json", "json")]);
  const avatar = new BakedAvatar(header, buffer);
  const width = Number(q.get("width") || Math.min(window.innerWidth, 720));
  const height = Number(q.get("height") || Math.round(width * header.camera.height / header.camera.width));
  const canvas = document.getElementById("view");
  const renderer = new THREE.WebGLRenderer({ canvas, antialias: false, preserveDrawingBuffer: true });
  renderer.setPixelRatio(1);
  renderer.setSize(width, height);
  renderer.setClearColor(0x000000, 1);
  const gl = renderer.getContext();
  const dbg = gl.getExtension("WEBGL_debug_renderer_info");
  state.renderer = dbg ? gl.getParameter(dbg.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);

  const scene = new THREE.Scene();
  // blur, cut-off and depth sort as headforge's rasterizer draws them
  const spark = new SparkRenderer({ renderer, preBlurAmount: 0.3, blurAmount: 0.0, maxStdDev: 3.0, sortRadial: false });
  scene.add(spark);
  const camera = cameraFromView(header.camera, width, height);

  const N = avatar.N;
  const packed = new PackedSplats({ maxSplats: N });
  const zero = new THREE.Vector3(), one = new THREE.Vector3(1e-3, 1e-3, 1e-3);
  for (let i = 0; i < N; i++) packed.pushSplat(zero, one, new THREE.Quaternion(), 0, new THREE.Color());
  const mesh = new SplatMesh({ packedSplats: packed });
  scene.add(mesh);
  await mesh.initialized;

  const T = anim.frames;
  const slider = document.getElementById("frame");
  const label = document.getElementById("label");
  const button = document.getElementById("play");
  slider.max = String(T - 1);

  function show(i) {
    state.frame = ((i % T) + T) % T;
    avatar.evaluate(frameParams(anim, state.frame));
    const arr = packed.packedArray;
    const m = avatar.means, s = avatar.scales, qq = avatar.quats, o = avatar.opacity, c = avatar.rgb;
    for (let k = 0; k < N; k++) {
      setPackedSplat(arr, k, m[3 * k], m[3 * k + 1], m[3 * k + 2], s[3 * k], s[3 * k + 1], s[3 * k + 2],
        qq[4 * k + 1], qq[4 * k + 2], qq[4 * k + 3], qq[4 * k], o[k], c[3 * k], c[3 * k + 1], c[3 * k + 2]);
    }
    packed.needsUpdate = true;
    mesh.needsUpdate = true;
    state.updates += 1;
    slider.value = String(state.frame);
    label.textContent = `${state.frame + 1}/${T} ${anim.names[state.frame] ?? ""}`;
  }

  // orbit around the head's centre at the first frame
  show(Number(q.get("frame") || 0));
  const centre = new THREE.Vector3();
  for (let k = 0; k < N; k++) centre.add(new THREE.Vector3(avatar.means[3 * k], avatar.means[3 * k + 1], avatar.means[3 * k + 2]));
  centre.multiplyScalar(1 / N);
  // orbit about the point of the optical axis nearest the head, so that the first view is
  // exactly the exported camera (OrbitControls re-aims the camera at its target)
  const forward = new THREE.Vector3(0, 0, -1).applyQuaternion(camera.quaternion);
  const depth = centre.clone().sub(camera.position).dot(forward);
  camera.up.set(0, 1, 0).applyQuaternion(camera.quaternion);
  const controls = new OrbitControls(camera, canvas);
  controls.target.copy(camera.position).addScaledVector(forward, depth);
  controls.update();

  state.playing = q.get("paused") !== "1";
  const setPlaying = (p) => { state.playing = p; button.textContent = p ? "pause" : "play"; };
  setPlaying(state.playing);
  button.onclick = () => setPlaying(!state.playing);
  slider.oninput = () => { setPlaying(false); show(Number(slider.value)); };
  state.setFrame = (i) => { setPlaying(false); show(i); };
  state.play = () => setPlaying(true);
  state.pause = () => setPlaying(false);

  let t0 = performance.now(), shownAt = state.frame;
  renderer.setAnimationLoop((now) => {
    if (state.playing) {
      const i = shownAt + Math.floor(((now - t0) / 1000) * anim.fps);
      if (i !== state.frame) show(i);
    } else {
      t0 = now;
      shownAt = state.frame;
    }
    controls.update();
    renderer.render(scene, camera);
    state.rendered += 1;
    state.ready = true;
  });
}

main().catch((e) => {
  state.error = String(e && e.stack ? e.stack : e);
  const el = document.getElementById("label");
  if (el) el.textContent = `error: ${e}`;
  console.error(e);
});
