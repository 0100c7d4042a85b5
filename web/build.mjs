// Bundle the viewer into the Python package (src/headforge/export/web_dist/).
import { copyFileSync, mkdirSync } from "node:fs";
import { build } from "esbuild";

const out = new URL("../src/headforge/export/web_dist/", import.meta.url);
mkdirSync(out, { recursive: true });
await build({
  entryPoints: ["src/viewer.js"],
  bundle: true,
  format: "iife",
  minify: true,
  target: "es2020",
  outfile: new URL("viewer.js", out).pathname,
  logLevel: "warning",
  legalComments: "eof",
});
copyFileSync("index.html", new URL("index.html", out));
