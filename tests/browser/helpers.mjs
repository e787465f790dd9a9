// Shared set-up for the browser tests: the built site, a plain static server, Debian's
// Chromium driven by playwright-core, the page's data-testid hooks, polling with a useful
// failure message, and the CLI's digest for the share round trip.

import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveStatic } from './server.mjs';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const RESULTS = join(ROOT, 'test-results');

/** Debian's Chromium; never a downloaded browser. PT_CHROMIUM overrides (for a person's own machine). */
export const CHROMIUM = process.env.PT_CHROMIUM || '/usr/bin/chromium';

export const BASE_FLAGS = [
  '--no-sandbox',
  '--headless=new',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
/**
 * SwiftShader's Vulkan-on-CPU behind WebGPU: an adapter on any machine, no GPU needed.
 * `--disable-gpu` is left out: with or without it Chromium 156 gives the same SwiftShader
 * adapter at the same speed, so it is neither needed nor harmful.
 */
export const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'];

/** The static build: `npm run build` writes it (vite build, root web/). */
export function siteDir() {
  const candidates = process.env.PT_SITE_DIR
    ? [resolve(process.env.PT_SITE_DIR)]
    : [join(ROOT, 'web/dist'), join(ROOT, 'dist')];
  const found = candidates.filter((d) => existsSync(join(d, 'index.html')));
  if (found.length === 0) {
    throw new Error(
      `no built site (looked for index.html in ${candidates.map((d) => relative(ROOT, d)).join(', ')}); run \`npm run build\` first`,
    );
  }
  // Both exist only when an old layout lingers: take the newer build.
  found.sort((a, b) => statSync(join(b, 'index.html')).mtimeMs - statSync(join(a, 'index.html')).mtimeMs);
  return found[0];
}

/** Starts the plain static server on the built site. */
export async function startSite() {
  return serveStatic(siteDir());
}

/**
 * Launches Chromium with a fresh user-data-dir. `webgpu: true` adds the SwiftShader WebGPU flags.
 * Resolves to { context, close() }.
 */
export async function launch({ webgpu }) {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run \`bash scripts/setup.sh ensure_chromium\` (apt: chromium)`);
  }
  const userDataDir = mkdtempSync(join(tmpdir(), 'papertoys-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...BASE_FLAGS, ...(webgpu ? WEBGPU_FLAGS : [])],
    viewport: { width: 1280, height: 900 },
    timeout: 60_000,
  });
  for (const p of context.pages()) await p.close(); // the persistent context's blank tab
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Opens `path` (relative to the server's root URL) in a new tab; the page keeps a log of its
 * console messages, uncaught errors and failed requests for failure messages.
 */
export async function open(context, server, path) {
  const page = await context.newPage();
  page.ptLog = [];
  page.on('console', (m) => page.ptLog.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => page.ptLog.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => page.ptLog.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => {
    if (r.status() >= 400) page.ptLog.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  page.on('dialog', (d) => {
    page.ptLog.push(`dialog(${d.type()}): ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  page.ptStart = performance.now();
  await page.goto(new URL(path, server.url).href, { waitUntil: 'load', timeout: 60_000 });
  return page;
}

export const tid = (id) => `[data-testid="${id}"]`;

/** The text of a data-testid element ('' when absent). */
export async function text(page, id) {
  const el = await page.$(tid(id));
  if (!el) return '';
  return ((await el.textContent()) ?? '').trim();
}

/** Everything the tests look at, in one round trip. */
export async function snapshot(page) {
  return page.evaluate(() => {
    const q = (id) => document.querySelector(`[data-testid="${id}"]`);
    const t = (id) => (q(id)?.textContent ?? '').trim();
    const points = (id) => {
      const v = q(id)?.getAttribute('data-points');
      return v == null ? null : Number(v);
    };
    const link = q('share-link');
    // Points per chart, by quantity id (`chart-acc`: accuracy).
    const charts = Object.fromEntries(
      [...document.querySelectorAll('[data-testid^="chart-"]')].map((el) => [
        el.getAttribute('data-testid').slice('chart-'.length),
        Number(el.getAttribute('data-points') ?? 0),
      ]),
    );
    // Points (or cells, or rows) per figure of the toy's figures, by figure id.
    const figures = Object.fromEntries(
      [...document.querySelectorAll('figure.figure')].map((el) => [
        el.getAttribute('data-testid').slice('figure-'.length),
        Number(el.getAttribute('data-points') ?? 0),
      ]),
    );
    return {
      backend: t('backend'),
      reason: t('backend-reason'),
      step: t('step'),
      digest: t('digest'),
      error: t('error'),
      notice: t('notice'),
      verdict: t('verdict'),
      stepsPerSecond: t('steps-per-second'),
      accPoints: points('chart-acc'),
      charts,
      figures,
      shareLink: link ? (link.value ?? link.getAttribute('href') ?? link.textContent ?? '').trim() : '',
      status: t('status'),
      phase: q('status')?.getAttribute('data-phase') ?? '',
    };
  });
}

/** The value a config control shows: its text box, or its select. */
export async function paramValue(page, key) {
  return page.$eval(`[data-param="${key}"]`, (box) => {
    const input = box.querySelector('input[type=text], input:not([type]), select, input[type=number]');
    return input ? input.value : '';
  });
}

export const stepOf = (s) => {
  const n = Number.parseInt(String(s.step).replace(/[^0-9]/g, ''), 10);
  return Number.isFinite(n) ? n : NaN;
};

function stateText(page, s) {
  const log = page.ptLog.slice(-25).map((l) => `    ${l}`).join('\n');
  return `page state: ${JSON.stringify(s)}\n  url: ${page.url()}\n  last page log lines:\n${log || '    (none)'}`;
}

/**
 * Polls snapshot(page) until `pred(snapshot)` is true; fails after `timeout` ms with `what`,
 * the last page state and the page's log.
 */
export async function waitState(page, what, pred, { timeout = 60_000, interval = 100 } = {}) {
  const deadline = performance.now() + timeout;
  let s;
  for (;;) {
    s = await snapshot(page);
    if (pred(s)) return s;
    if (performance.now() > deadline) break;
    await page.waitForTimeout(interval);
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what}\n  ${stateText(page, s)}`);
}

/** The page's state and log, for an assertion message. */
export async function pageState(page) {
  return stateText(page, await snapshot(page));
}

/** Full-page PNG under test-results/; returns its path. */
export async function screenshot(page, name) {
  mkdirSync(RESULTS, { recursive: true });
  const path = join(RESULTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * A run from the command line, `papertoys run <toy> --json …`: the last line's digest, toy,
 * config and steps, with the metric `rows` ({step, <name>: value}) and `figures` printed before it.
 * PT_CLI names a built binary (test.sh sets it); otherwise `cargo run` in the test profile,
 * which `cargo test` has usually built already. The CPU digest does not depend on the profile.
 */
export function cliRun(toy, args) {
  const lines = cli(['run', toy, ...args, '--json']).trim().split('\n').map((line) => JSON.parse(line));
  return { ...lines[lines.length - 1], rows: lines.filter((l) => 'step' in l), figures: lines.filter((l) => 'figure' in l).map((l) => l.figure) };
}

/** The ids of every toy, from `papertoys list`. */
export function toyIds() {
  return cli(['list']).trim().split('\n').map((line) => line.split(/\s+/)[0]);
}

function cli(cliArgs) {
  const [cmd, argv] = process.env.PT_CLI
    ? [process.env.PT_CLI, cliArgs]
    : ['cargo', ['run', '--quiet', '--profile', 'test', '--locked', '-p', 'papertoys', '--', ...cliArgs]];
  // stderr is captured: its timing line is noise, and a failure's message includes it.
  return execFileSync(cmd, argv, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
}

/** One line for the closing note, easy to grep from the test output. */
export function measure(name, value) {
  console.log(`MEASURE ${name}: ${value}`);
}
