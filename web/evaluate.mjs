// Evaluate one animation frame of an exported package in Node (parity check against torch).
// usage: node evaluate.mjs DIR FRAME > out.json
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BakedAvatar, frameParams } from "./src/avatar.js";

const [dir, frame] = process.argv.slice(2);
const header = JSON.parse(readFileSync(join(dir, "avatar.json"), "utf8"));
const bin = readFileSync(join(dir, header.buffer));
const buffer = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
const anim = JSON.parse(readFileSync(join(dir, "animation.json"), "utf8"));
const avatar = new BakedAvatar(header, buffer);
avatar.evaluate(frameParams(anim, Number(frame)));
const list = (a) => Array.from(a);
process.stdout.write(JSON.stringify({
  vertices: list(avatar.posed), means: list(avatar.means), quats: list(avatar.quats),
  scales: list(avatar.scales), opacity: list(avatar.opacity), rgb: list(avatar.rgb),
}));
