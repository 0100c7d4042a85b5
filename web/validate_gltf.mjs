// Validate a .glb with the Khronos glTF validator; prints the report's issue counts and messages.
// usage: node validate_gltf.mjs FILE.glb
import { readFileSync } from "node:fs";
import validator from "gltf-validator";

const file = process.argv[2];
const report = await validator.validateBytes(new Uint8Array(readFileSync(file)), {
  maxIssues: 50, writeTimestamp: false,
});
const { numErrors, numWarnings, numInfos, numHints, messages } = report.issues;
process.stdout.write(JSON.stringify({
  numErrors, numWarnings, numInfos, numHints,
  messages: messages.map((m) => `${m.severity} ${m.code} ${m.pointer ?? ""}: ${m.message}`),
  info: report.info,
}) + "\n");
