// Load an exported viewer page in headless Chromium, screenshot its canvas at given frames
// (paused) and measure the frame rate while playing. Prints one JSON object.
// usage: node shoot.mjs URL OUTDIR '{"width":256,"height":256,"frames":[0,12],"fpsSeconds":3}'
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [url, outDir, optJson] = process.argv.slice(2);
const opt = { width: 256, height: 256, frames: [0], fpsSeconds: 3, settle: 40, ...JSON.parse(optJson || "{}") };
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
mkdirSync(outDir, { recursive: true });
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-angle=swiftshader", "--enable-unsafe-swiftshader"],
});
const result = { shots: [], console: [] };
try {
  const context = await browser.newContext({ viewport: { width: opt.width + 40, height: opt.height + 80 } });
  const page = await context.newPage();
  page.on("console", (m) => result.console.push(`${m.type()}: ${m.text()}`.slice(0, 300)));
  page.on("pageerror", (e) => result.console.push(`pageerror: ${e}`.slice(0, 500)));
  const t0 = Date.now();
  await page.goto(`${url}?paused=1&frame=${opt.frames[0]}&width=${opt.width}&height=${opt.height}`);
  await page.waitForFunction(() => window.headforge && (window.headforge.ready || window.headforge.error),
    null, { timeout: 120000 });
  const err = await page.evaluate(() => window.headforge.error);
  if (err) throw new Error(`viewer error: ${err}`);
  result.firstFrameMs = Date.now() - t0;
  result.renderer = await page.evaluate(() => window.headforge.renderer);
  const canvas = page.locator("#view");
  for (const f of opt.frames) {
    await page.evaluate((i) => window.headforge.setFrame(i), f);
    const start = await page.evaluate(() => window.headforge.rendered);
    // Spark sorts in a worker: let a few frames pass so the order matches the new positions
    await page.waitForFunction((n) => window.headforge.rendered >= n, start + opt.settle, { timeout: 120000 });
    await page.waitForTimeout(300);
    const path = join(outDir, `frame_${String(f).padStart(4, "0")}.png`);
    await canvas.screenshot({ path });
    result.shots.push({ frame: f, path });
  }
  // frame rate while playing (each rendered frame evaluates and uploads a new avatar frame)
  await page.evaluate(() => window.headforge.play());
  const a = await page.evaluate(() => [performance.now(), window.headforge.rendered, window.headforge.updates]);
  await page.waitForTimeout(opt.fpsSeconds * 1000);
  const b = await page.evaluate(() => [performance.now(), window.headforge.rendered, window.headforge.updates]);
  result.fps = (b[1] - a[1]) / ((b[0] - a[0]) / 1000);
  result.updatesPerSecond = (b[2] - a[2]) / ((b[0] - a[0]) / 1000);
  result.frameAdvanced = await page.evaluate(() => window.headforge.frame);
} catch (e) {
  process.stderr.write(`${e}\npage console:\n${result.console.join("\n")}\n`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
if (process.exitCode) process.exit();
process.stdout.write(JSON.stringify(result) + "\n");
