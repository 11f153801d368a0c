// The web page of `fastwan serve` in a real browser: Debian's chromium, headless, driven by Playwright
// (playwright-core from npm, pointed at /usr/bin/chromium; no browser is downloaded). A server with a
// synthesized tiny model on a loopback port; the page submits a prompt, the progress bar moves, the video
// plays (readyState >= 2, the expected duration), the history shows its thumbnail, delete removes it.
// A screenshot is kept as the test's artifact.
//
//   node page_test.mjs FASTWAN_BIN ARTIFACT_DIR
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

const [bin, artifacts] = process.argv.slice(2);
if (!bin || !artifacts) throw new Error("usage: node page_test.mjs FASTWAN_BIN ARTIFACT_DIR");
const CHROMIUM = process.env.FASTWAN_CHROMIUM || "/usr/bin/chromium";
const FRAMES = 17, FPS = 16, TIMEOUT_MS = 120_000;

const work = mkdtempSync(join(tmpdir(), "fastwan-browser-"));
let server, context, failed = false;

function check(ok, what) {
  if (!ok) throw new Error("FAILED: " + what);
  console.log("ok - " + what);
}

// Starts the server on a free port; resolves with the port once it listens.
function serve(model, out) {
  server = spawn(bin, ["serve", "--model", model, "--output-dir", out, "--port", "0"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  server.stderr.on("data", (d) => { log += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the server did not listen: " + log)), 30_000);
    server.stdout.on("data", (d) => {
      log += d;
      const m = /on http:\/\/[0-9.]+:([0-9]+) /.exec(log);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    server.on("exit", (code) => reject(new Error(`the server exited (${code}): ${log}`)));
  });
}

async function waitHealthy(base) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const r = await fetch(base + "/health").catch(() => null);
    if (r && r.status === 200) return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error("the server was not ready within 30 s");
}

try {
  const model = join(work, "m");
  execFileSync(bin, ["synth", "--preset", "tiny", "--out", model]);
  const port = await serve(model, join(work, "out"));
  const base = `http://127.0.0.1:${port}`;
  await waitHealthy(base);

  context = await chromium.launchPersistentContext(join(work, "profile"), {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(TIMEOUT_MS);
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(base + "/");
  check((await page.title()) === "fastwan", "the page loads from the binary");

  await page.fill("#prompt", "a red panda eating bamboo");
  await page.fill("#size", "128x96");
  await page.fill("#frames", String(FRAMES));
  await page.fill("#seed", "5");
  await page.fill("#steps", "20");
  // Samples every progress bar of the queue as the page updates it from the event stream.
  await page.evaluate(() => {
    window.seenProgress = [];
    setInterval(() => {
      for (const bar of document.querySelectorAll(".job progress"))
        if (!bar.hidden) window.seenProgress.push(bar.value);
    }, 5);
  });
  await page.click("#submit");
  await page.waitForSelector("#queue .job, #history .job");
  const id = await page.getAttribute(".job", "data-id");
  check(/^video_[0-9a-f]{32}$/.test(id), "the job appears in the queue: " + id);

  await page.waitForFunction(() => document.getElementById("player").readyState >= 2, null,
    { timeout: TIMEOUT_MS });
  const seen = await page.evaluate(() => window.seenProgress);
  const distinct = new Set(seen.filter((v) => v > 0 && v < 100));
  check(distinct.size >= 2, `the progress bar moves (values seen: ${[...distinct].join(", ")})`);
  const video = await page.evaluate(() => {
    const v = document.getElementById("player");
    return { readyState: v.readyState, duration: v.duration, width: v.videoWidth, height: v.videoHeight };
  });
  check(video.readyState >= 2, "the video element has data (readyState " + video.readyState + ")");
  check(Math.abs(video.duration - FRAMES / FPS) < 0.1,
    `the video lasts ${FRAMES} frames at ${FPS} fps (duration ${video.duration})`);
  check(video.width === 128 && video.height === 96, `the video is 128x96 (${video.width}x${video.height})`);
  await page.waitForFunction((vid) => {
    const img = document.querySelector(`#history .job[data-id="${vid}"] img`);
    return img && img.complete && img.naturalWidth === 128;
  }, id);
  check(true, "the history shows the thumbnail");

  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, "browser-page.png"), fullPage: true });
  console.log("screenshot: " + join(artifacts, "browser-page.png"));

  await page.click(`#history .job[data-id="${id}"] button`);
  await page.waitForSelector(`.job[data-id="${id}"]`, { state: "detached" });
  const gone = await fetch(`${base}/v1/videos/${id}`);
  check(gone.status === 404, "delete removes the video (GET answers 404)");
  check(errors.length === 0, "no script errors on the page" + (errors.length ? ": " + errors.join("; ") : ""));
} catch (e) {
  failed = true;
  console.error(e.stack || String(e));
} finally {
  if (context) await context.close().catch(() => {});
  if (server && server.exitCode === null) {
    server.kill("SIGTERM");
    await new Promise((done) => { server.on("exit", done); setTimeout(done, 10_000); });
  }
  rmSync(work, { recursive: true, force: true });
}
console.log(failed ? "0 passed, 1 failed" : "1 passed, 0 failed");
process.exit(failed ? 1 : 0);
