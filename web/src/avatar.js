// The baked avatar evaluated per frame: head model (expression blend shapes, pose correctives,
// linear blend skinning) and Gaussian blendshapes placed on the posed triangles. Pure JS over
// typed arrays; mirrors headforge.export.bake (baked_gaussians, head_vertices). The package
// layout (avatar.json + avatar.bin) is documented in docs/export.md.

const SH_C0 = 0.28209479177387814;

export function readArrays(header, buffer) {
  const types = { float32: Float32Array, uint32: Uint32Array, int32: Int32Array };
  const out = {};
  for (const [name, a] of Object.entries(header.arrays)) {
    const T = types[a.dtype];
    if (!T) throw new Error(`avatar.bin: unsupported dtype ${a.dtype} for ${name}`);
    out[name] = new T(buffer, a.byteOffset, a.byteLength / T.BYTES_PER_ELEMENT);
  }
  return out;
}

function rodrigues(x, y, z, out, o) {
  // axis-angle -> row-major 3x3 at out[o..o+9]
  const t2 = x * x + y * y + z * z;
  let a, b;
  if (t2 < 1e-6) {
    a = 1 - t2 / 6 + (t2 * t2) / 120;
    b = 0.5 - t2 / 24 + (t2 * t2) / 720;
  } else {
    const t = Math.sqrt(t2);
    a = Math.sin(t) / t;
    b = (1 - Math.cos(t)) / t2;
  }
  // K = skew(r); R = I + aK + bK^2
  const K = [0, -z, y, z, 0, -x, -y, x, 0];
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      let kk = 0;
      for (let m = 0; m < 3; m++) kk += K[i * 3 + m] * K[m * 3 + j];
      out[o + i * 3 + j] = (i === j ? 1 : 0) + a * K[i * 3 + j] + b * kk;
    }
  }
}

export class BakedAvatar {
  constructor(header, buffer) {
    this.header = header;
    this.a = readArrays(header, buffer);
    const sh = (s) => header.arrays[s].shape;
    [this.V] = sh("v_shaped");
    [this.nExprDirs] = sh("expr_dirs");
    [this.nPoseDirs] = sh("pose_dirs");
    [this.J] = sh("j_regressor");
    [this.F] = sh("faces");
    [this.E, this.N, this.C] = sh("blend");
    this.nExpr = header.coefficients.filter((c) => c.startsWith("expr_")).length;
    this.shDegree = header.sh_degree;
    this.shaped = new Float32Array(this.V * 3);
    this.posed = new Float32Array(this.V * 3);
    this.raw = new Float32Array(this.N * this.C);
    this.coeffs = new Float32Array(this.E);
    this.means = new Float32Array(this.N * 3);
    this.quats = new Float32Array(this.N * 4); // wxyz
    this.scales = new Float32Array(this.N * 3);
    this.opacity = new Float32Array(this.N);
    this.rgb = new Float32Array(this.N * 3);
  }

  // frame: {expr, rotation, neck_pose, jaw_pose, eyes_pose, translation} (arrays)
  evaluate(frame) {
    this.poseHead(frame);
    this.blend(frame);
    this.place();
  }

  poseHead(frame) {
    const { a, V, J } = this;
    const shaped = this.shaped;
    shaped.set(a.v_shaped);
    const ne = Math.min(frame.expr.length, this.nExprDirs);
    for (let k = 0; k < ne; k++) {
      const c = frame.expr[k];
      if (c === 0) continue;
      const d = a.expr_dirs.subarray(k * V * 3, (k + 1) * V * 3);
      for (let i = 0; i < V * 3; i++) shaped[i] += c * d[i];
    }
    const joints = new Float64Array(J * 3);
    for (let j = 0; j < J; j++) {
      const r = a.j_regressor.subarray(j * V, (j + 1) * V);
      let x = 0, y = 0, z = 0;
      for (let v = 0; v < V; v++) {
        const w = r[v];
        if (w === 0) continue;
        x += w * shaped[v * 3]; y += w * shaped[v * 3 + 1]; z += w * shaped[v * 3 + 2];
      }
      joints[j * 3] = x; joints[j * 3 + 1] = y; joints[j * 3 + 2] = z;
    }
    const e = frame.eyes_pose;
    const poses = [frame.rotation, frame.neck_pose, frame.jaw_pose, e.slice(0, 3), e.slice(3, 6)];
    const R = new Float64Array(J * 9);
    for (let j = 0; j < J; j++) rodrigues(poses[j][0], poses[j][1], poses[j][2], R, j * 9);
    // pose correctives: R_j - I of every joint but the root, row-major
    const corrected = this.posed; // reuse as scratch for the corrected rest shape
    corrected.set(shaped);
    for (let p = 0; p < this.nPoseDirs; p++) {
      const j = 1 + Math.floor(p / 9), m = p % 9;
      const f = R[j * 9 + m] - (m % 4 === 0 ? 1 : 0);
      if (f === 0) continue;
      const d = a.pose_dirs.subarray(p * V * 3, (p + 1) * V * 3);
      for (let i = 0; i < V * 3; i++) corrected[i] += f * d[i];
    }
    // forward kinematics: world_j = world_parent @ [R_j | J_j - J_parent]; T_j = world_j·(-J_j)
    const W = new Float64Array(J * 12); // row-major 3x4
    for (let j = 0; j < J; j++) {
      const p = a.parents[j];
      const rel = [0, 1, 2].map((c) => joints[j * 3 + c] - (p >= 0 ? joints[p * 3 + c] : 0));
      for (let r = 0; r < 3; r++) {
        for (let c = 0; c < 4; c++) {
          const local = (m, n) => (n < 3 ? R[j * 9 + m * 3 + n] : rel[m]);
          let v;
          if (p < 0) v = local(r, c);
          else {
            v = 0;
            for (let m = 0; m < 3; m++) v += W[p * 12 + r * 4 + m] * local(m, c);
            if (c === 3) v += W[p * 12 + r * 4 + 3];
          }
          W[j * 12 + r * 4 + c] = v;
        }
      }
    }
    const T = new Float64Array(J * 12);
    for (let j = 0; j < J; j++) {
      for (let r = 0; r < 3; r++) {
        let off = 0;
        for (let m = 0; m < 3; m++) {
          T[j * 12 + r * 4 + m] = W[j * 12 + r * 4 + m];
          off += W[j * 12 + r * 4 + m] * joints[j * 3 + m];
        }
        T[j * 12 + r * 4 + 3] = W[j * 12 + r * 4 + 3] - off;
      }
    }
    const out = new Float32Array(V * 3);
    const t = frame.translation;
    const M = new Float64Array(12);
    for (let v = 0; v < V; v++) {
      M.fill(0);
      for (let j = 0; j < J; j++) {
        const w = a.weights[v * J + j];
        if (w === 0) continue;
        for (let q = 0; q < 12; q++) M[q] += w * T[j * 12 + q];
      }
      const x = corrected[v * 3], y = corrected[v * 3 + 1], z = corrected[v * 3 + 2];
      for (let r = 0; r < 3; r++) {
        out[v * 3 + r] = M[r * 4] * x + M[r * 4 + 1] * y + M[r * 4 + 2] * z + M[r * 4 + 3] + t[r];
      }
    }
    this.posed = out;
  }

  blend(frame) {
    const { a, E, N, C, nExpr } = this;
    const c = this.coeffs;
    c.fill(0);
    for (let k = 0; k < Math.min(nExpr, frame.expr.length); k++) c[k] = frame.expr[k];
    for (let k = 0; k < 3; k++) c[nExpr + k] = frame.jaw_pose[k];
    for (let k = 0; k < 6 && nExpr + 3 + k < E; k++) c[nExpr + 3 + k] = frame.eyes_pose[k];
    const raw = this.raw;
    raw.set(a.base);
    for (let e = 0; e < E; e++) {
      const w = c[e];
      if (w === 0) continue;
      const d = a.blend.subarray(e * N * C, (e + 1) * N * C);
      for (let i = 0; i < N * C; i++) raw[i] += w * d[i];
    }
  }

  place() {
    const { a, N, C } = this;
    const vtx = this.posed, raw = this.raw;
    const unit = (v) => {
      const n = Math.hypot(v[0], v[1], v[2]);
      return n > 1e-10 ? [v[0] / n, v[1] / n, v[2] / n] : null;
    };
    const cross = (p, q) => [p[1] * q[2] - p[2] * q[1], p[2] * q[0] - p[0] * q[2], p[0] * q[1] - p[1] * q[0]];
    for (let i = 0; i < N; i++) {
      const f = a.face_index[i];
      const c = [0, 1, 2].map((k) => {
        const v = a.faces[f * 3 + k];
        return [vtx[v * 3], vtx[v * 3 + 1], vtx[v * 3 + 2]];
      });
      const e0 = [0, 1, 2].map((k) => c[1][k] - c[0][k]);
      const e1 = [0, 1, 2].map((k) => c[2][k] - c[0][k]);
      const e2 = [0, 1, 2].map((k) => c[2][k] - c[1][k]);
      const x = unit(e0) || unit(e1) || [1, 0, 0];
      const n = cross(e0, e1);
      let z = unit(n);
      if (!z) {
        const ax = [Math.abs(x[0]), Math.abs(x[1]), Math.abs(x[2])];
        const m = ax.indexOf(Math.min(...ax));
        const axis = [0, 0, 0];
        axis[m] = 1;
        z = unit(cross(x, axis)) || [1, 0, 0];
      }
      const d = z[0] * x[0] + z[1] * x[1] + z[2] * x[2];
      z = unit([z[0] - d * x[0], z[1] - d * x[1], z[2] - d * x[2]]) || z;
      const y = cross(z, x);
      const len0 = Math.hypot(...e0);
      const area2 = Math.hypot(...n);
      const height = area2 / Math.max(len0, 1e-10);
      const longest = Math.max(Math.hypot(...e1), Math.hypot(...e2));
      const s = 0.5 * (len0 + Math.min(height, longest));
      const b0 = a.bary[i * 3], b1 = a.bary[i * 3 + 1], b2 = a.bary[i * 3 + 2];
      const r = raw.subarray(i * C, (i + 1) * C);
      for (let k = 0; k < 3; k++) {
        const anchor = b0 * c[0][k] + b1 * c[1][k] + b2 * c[2][k];
        this.means[i * 3 + k] = anchor + s * (x[k] * r[0] + y[k] * r[1] + z[k] * r[2]);
        this.scales[i * 3 + k] = s * Math.exp(r[7 + k]);
      }
      // triangle rotation (columns x, y, z) as a quaternion, times the local one
      const tq = matToQuat(x[0], y[0], z[0], x[1], y[1], z[1], x[2], y[2], z[2]);
      const qn = Math.hypot(r[3], r[4], r[5], r[6]) || 1;
      const lw = r[3] / qn, lx = r[4] / qn, ly = r[5] / qn, lz = r[6] / qn;
      const [w1, x1, y1, z1] = tq;
      this.quats[i * 4] = w1 * lw - x1 * lx - y1 * ly - z1 * lz;
      this.quats[i * 4 + 1] = w1 * lx + x1 * lw + y1 * lz - z1 * ly;
      this.quats[i * 4 + 2] = w1 * ly - x1 * lz + y1 * lw + z1 * lx;
      this.quats[i * 4 + 3] = w1 * lz + x1 * ly - y1 * lx + z1 * lw;
      this.opacity[i] = 1 / (1 + Math.exp(-r[10]));
      for (let k = 0; k < 3; k++) {
        const v = this.shDegree === 0 ? r[11 + k] : 0.5 + SH_C0 * r[11 + k];
        this.rgb[i * 3 + k] = Math.min(1, Math.max(0, v));
      }
    }
  }
}

function matToQuat(m00, m01, m02, m10, m11, m12, m20, m21, m22) {
  // wxyz, w >= 0
  const tr = m00 + m11 + m22;
  let w, x, y, z;
  if (tr > 0) {
    const S = Math.sqrt(tr + 1) * 2;
    w = 0.25 * S; x = (m21 - m12) / S; y = (m02 - m20) / S; z = (m10 - m01) / S;
  } else if (m00 > m11 && m00 > m22) {
    const S = Math.sqrt(1 + m00 - m11 - m22) * 2;
    w = (m21 - m12) / S; x = 0.25 * S; y = (m01 + m10) / S; z = (m02 + m20) / S;
  } else if (m11 > m22) {
    const S = Math.sqrt(1 + m11 - m00 - m22) * 2;
    w = (m02 - m20) / S; x = (m01 + m10) / S; y = 0.25 * S; z = (m12 + m21) / S;
  } else {
    const S = Math.sqrt(1 + m22 - m00 - m11) * 2;
    w = (m10 - m01) / S; x = (m02 + m20) / S; y = (m12 + m21) / S; z = 0.25 * S;
  }
  return w < 0 ? [-w, -x, -y, -z] : [w, x, y, z];
}

export function frameParams(animation, i) {
  const out = {};
  for (const [k, v] of Object.entries(animation.params)) out[k] = v[i];
  return out;
}
