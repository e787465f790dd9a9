// The browser half of `npm run bench`: the static build (web/dist) in headless Chromium
// (Debian's /usr/bin/chromium, driven by playwright-core), served by the plain static server
// of the browser tests (tests/browser/server.mjs).
//
//     node scripts/bench/browser.mjs [--site web/dist] [--out FILE] [--quick]
//
// Measures, each in a fresh browser profile (cold cache, as a first visit):
// - wasm size: the .wasm the site ships, raw and gzip -9;
// - time from navigation to the first chart point: performance.now() in the page (its clock
//   starts at navigation) when [data-testid=chart-acc] first has data-points ≥ 1, i.e. the
//   step-0 metrics are drawn; median of 3 loads, CPU backend, and once on WebGPU (SwiftShader);
// - wasm CPU steps/s: grokking with its defaults, `?toy=grokking&backend=cpu&autoplay=1&steps=N`;
//   the page's [data-testid=step] is sampled in the page; the rate is taken between the first
//   sample at or past a warm-up step and the end of the run, like the native "defaults" row;
// - WebGPU (SwiftShader, a CPU emulation) steps/s over a fixed window, when an adapter exists.
// Writes one JSON object per line to --out, as the Rust and Python halves do.

import { readdirSync, readFileSync, statSync, appendFileSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveStatic } from '../../tests/browser/server.mjs';
import { launch } from '../../tests/browser/helpers.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const WEBGPU_WINDOW_MS = 30_000;
const WEBGPU_STEPS = 30;

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const quick = args.includes('--quick');
const site = resolve(ROOT, opt('--site', 'web/dist'));
const outFile = opt('--out', null);

function record(rec) {
  if (outFile) appendFileSync(outFile, `${JSON.stringify(rec)}\n`);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Every file under dir (recursive). */
function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

async function withBrowser(webgpu, fn) {
  const { context, close } = await launch({ webgpu });
  try {
    const page = await context.newPage();
    const log = [];
    page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
    page.on('console', (m) => m.type() === 'error' && log.push(`console.error: ${m.text()}`));
    return await fn(page, log);
  } finally {
    await close();
  }
}

/** In the page: resolves to performance.now() when the accuracy chart has its first point. */
async function firstPoint(page, timeout) {
  const h = await page.waitForFunction(
    () => {
      const v = Number(document.querySelector('[data-testid="chart-acc"]')?.getAttribute('data-points') ?? 0);
      return v >= 1 ? performance.now() : false;
    },
    null,
    { polling: 5, timeout },
  );
  return h.jsonValue();
}

/** In the page: the first (time, step) with step ≥ `atLeast`. */
async function stepAtLeast(page, atLeast, timeout) {
  const h = await page.waitForFunction(
    (n) => {
      const s = Number.parseInt((document.querySelector('[data-testid="step"]')?.textContent ?? '').replace(/[^0-9]/g, ''), 10);
      return Number.isFinite(s) && s >= n ? [performance.now(), s] : false;
    },
    atLeast,
    { polling: 10, timeout },
  );
  return h.jsonValue();
}

async function pageText(page, id) {
  return ((await page.textContent(`[data-testid="${id}"]`).catch(() => '')) ?? '').trim();
}

async function main() {
  if (!existsSync(join(site, 'index.html'))) throw new Error(`no built site at ${site} (run npm run build)`);

  // Wasm size, as shipped.
  for (const f of files(site).filter((f) => f.endsWith('.wasm'))) {
    const raw = readFileSync(f);
    const gz = gzipSync(raw, { level: 9 }).length;
    record({ section: 'browser', what: 'wasm_size', file: f.slice(site.length + 1), raw: raw.length, gzip: gz });
    console.log(`wasm ${f.slice(site.length + 1)}: ${(raw.length / 1024).toFixed(0)} KiB raw, ${(gz / 1024).toFixed(0)} KiB gzip -9`);
  }
  const siteBytes = files(site).reduce((s, f) => s + statSync(f).size, 0);
  record({ section: 'browser', what: 'site_size', raw: siteBytes });

  const server = await serveStatic(site);
  try {
    const version = await withBrowser(false, async (page) => page.context().browser()?.version() ?? (await page.evaluate(() => navigator.userAgent)));
    record({ section: 'browser', what: 'chromium', version });
    console.log(`chromium: ${version}`);

    // Time to the first chart point, CPU backend: median of 3 cold loads.
    const loads = [];
    for (let i = 0; i < (quick ? 1 : 3); i++) {
      const ms = await withBrowser(false, async (page, log) => {
        await page.goto(new URL('?toy=grokking&backend=cpu&autoplay=1&steps=20', server.url).href, { waitUntil: 'commit' });
        try {
          return await firstPoint(page, 60_000);
        } catch (e) {
          throw new Error(`no chart point on the CPU page: ${e.message}\n${log.join('\n')}`);
        }
      });
      loads.push(ms);
    }
    record({ section: 'browser', what: 'first_point', backend: 'cpu', ms: median(loads), samples: loads });
    console.log(`first chart point (cpu): ${median(loads).toFixed(0)} ms (samples ${loads.map((x) => x.toFixed(0)).join(', ')})`);

    // Wasm CPU steps/s with the defaults.
    const steps = quick ? 60 : 200;
    const warm = quick ? 20 : 30;
    const run = await withBrowser(false, async (page, log) => {
      await page.goto(new URL(`?toy=grokking&backend=cpu&autoplay=1&steps=${steps}`, server.url).href, { waitUntil: 'commit' });
      try {
        const [t1, s1] = await stepAtLeast(page, warm, 120_000);
        const [t2, s2] = await stepAtLeast(page, steps, 600_000);
        await page.waitForFunction(() => (document.querySelector('[data-testid="digest-steps"]')?.textContent ?? '').replace(/[^0-9]/g, '') !== '', null, { timeout: 30_000 }).catch(() => {});
        return {
          s1,
          s2,
          secs: (t2 - t1) / 1000,
          shown: await pageText(page, 'steps-per-second'),
          backend: await pageText(page, 'backend'),
          digest: await pageText(page, 'digest'),
          digestSteps: await pageText(page, 'digest-steps'),
        };
      } catch (e) {
        throw new Error(`the CPU run did not finish: ${e.message}\n${log.join('\n')}`);
      }
    });
    const sps = (run.s2 - run.s1) / run.secs;
    record({ section: 'browser', what: 'steps_per_s', backend: 'cpu', steps_per_s: sps, from_step: run.s1, to_step: run.s2, secs: run.secs, page_shows: run.shown, badge: run.backend, steps, digest: run.digest, digest_steps: run.digestSteps });
    console.log(`wasm cpu: ${sps.toFixed(2)} steps/s (steps ${run.s1}→${run.s2} in ${run.secs.toFixed(1)} s; the page shows ${run.shown}); digest ${run.digest} after ${run.digestSteps} steps`);

    // WebGPU on SwiftShader: first point, then steps/s from the first step on, over at most
    // WEBGPU_WINDOW_MS or WEBGPU_STEPS steps (SwiftShader emulates the GPU on the CPU: slow).
    const gpu = await withBrowser(true, async (page, log) => {
      await page.goto(new URL('?toy=grokking&backend=webgpu&autoplay=1&steps=3000', server.url).href, { waitUntil: 'commit' });
      let first;
      try {
        first = await firstPoint(page, 120_000);
      } catch (e) {
        return { error: `no chart point: ${e.message} ${log.join(' | ')}` };
      }
      const backend = await pageText(page, 'backend');
      const [t1, s1] = await stepAtLeast(page, 1, 120_000);
      const window = quick ? 5_000 : WEBGPU_WINDOW_MS;
      const [t2, s2] = await stepAtLeast(page, s1 + WEBGPU_STEPS, window).catch(async () =>
        page.evaluate(() => [performance.now(), Number.parseInt((document.querySelector('[data-testid="step"]')?.textContent ?? '').replace(/[^0-9]/g, ''), 10)]),
      );
      // The step counter moves once per chunk of steps; when no chunk ended inside the window
      // the page's own meter (its recent rate) is the only reading, and is reported as such.
      const sps = s2 > s1 ? (s2 - s1) / ((t2 - t1) / 1000) : null;
      return { first, backend, sps, s1, s2, secs: (t2 - t1) / 1000, shown: await pageText(page, 'steps-per-second') };
    });
    record({ section: 'browser', what: 'webgpu', ...gpu });
    console.log(gpu.error ? `webgpu: ${gpu.error}` : `webgpu (${gpu.backend}): first point ${gpu.first.toFixed(0)} ms, ${gpu.sps == null ? '–' : gpu.sps.toFixed(2)} steps/s (steps ${gpu.s1}→${gpu.s2} in ${gpu.secs.toFixed(1)} s; the page's meter: ${gpu.shown})`);
  } finally {
    await server.close();
  }
}

main().catch((e) => {
  console.error(`browser bench: ${e.stack ?? e}`);
  record({ section: 'browser', what: 'error', error: String(e.message ?? e) });
  process.exit(1);
});
