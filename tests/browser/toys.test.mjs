// Every toy of the registry (`papertoys list`), opened once per backend: on the CPU
// (WebAssembly) in one Chromium, on WebGPU (SwiftShader) in another. Each page trains a few
// evaluation intervals from its link and must show no error and the right backend badge; draw
// one chart per quantity the toy measures, each with a series per metric (labels unique within
// the chart) and a point per metric row; and draw every figure the toy has. On the CPU the
// page's run is the CLI's bit for bit: the same digest, figures of the same size, the same verdict line.
//
// SMALL shrinks the toys whose defaults take long in a test (SwiftShader's WebGPU takes up to
// seconds a step); a toy missing there runs its defaults. Each runs for two evaluation intervals.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cliRun, launch, open, pageState, startSite, stepOf, toyIds, waitState } from './helpers.mjs';

const SMALL = {
  grokking: { p: 7, d_model: 16, batch_size: 8, eval_every: 2 },
  grokfast: { p: 7, d_model: 16, batch_size: 8, eval_every: 2 },
  flipflop: { seq_len: 16, layers: 1, d_model: 16, heads: 1, batch_size: 8, lstm_hidden: 8, test_strings: 32, eval_every: 2 },
  'icl-linreg': { d: 3, n: 4, d_model: 16, layers: 1, heads: 1, batch_size: 8, eval_every: 2 },
  stablemax: { p: 7, d_model: 16, eval_every: 2 },
  backtrack: { prompt_depth: 4, length: 12, train_depth: 3, d_model: 16, heads: 2, layers: 1, batch_size: 8, eval_every: 2, prompts: 3, budget: 24 },
  // Sharpening starts at `sharpen_at`: the run has both phases.
  sharpening: { prompts: 4, answer_len: 2, alphabet: 4, coverage: 0.5, layers: 1, d_model: 16, heads: 1, batch_size: 8, sharpen_at: 2, n: 2, eval_every: 2 },
  hedgehog: { vocab: 16, queries: 2, pairs: 4, layers: 1, d_model: 16, batch_size: 8, test_sequences: 16, eval_every: 2 },
};

/** The toy's run from the command line, with the same settings the page gets: rows, figures, digest. */
const runs = new Map();
function reference(toy) {
  if (!runs.has(toy)) {
    const sets = Object.entries(SMALL[toy] ?? {}).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
    const steps = 2 * cliRun(toy, [...sets, '--steps', '0']).config.eval_every;
    runs.set(toy, { steps, ...cliRun(toy, [...sets, '--steps', `${steps}`]) });
  }
  return runs.get(toy);
}

/** The points a figure box should report (figures.ts): rows of a table, cells of a heatmap, finite points of curves. */
function figurePoints(f) {
  if (f.kind === 'table') return f.rows.length;
  if (f.kind === 'heatmap') return f.rows * f.cols;
  const ok = (v, log) => v !== null && Number.isFinite(v) && (!log || v > 0);
  const keep = f.x.map((x) => ok(x, f.log_x));
  return f.series.reduce((n, s) => n + s.y.filter((v, i) => keep[i] && ok(v, f.log_y)).length, 0);
}

/** Each chart's series labels, by quantity id. */
const legends = (page) =>
  page.$$eval('[data-testid^="chart-"]', (charts) =>
    Object.fromEntries(charts.map((c) => [c.dataset.testid.slice('chart-'.length), [...c.querySelectorAll('.u-legend .u-series .u-label')].slice(1).map((e) => e.textContent.trim())])),
  );

let server;
before(async () => {
  server = await startSite();
});
after(async () => {
  await server?.close();
});

const toys = toyIds();

for (const [backend, webgpu] of [['cpu', false], ['webgpu', true]]) {
  describe(`every toy on ${backend}`, () => {
    let browser;
    before(async () => {
      browser = await launch({ webgpu });
    });
    after(async () => {
      await browser?.close();
    });

    for (const toy of toys) {
      test(`${toy} on ${backend}`, { timeout: 150_000 }, async () => {
        const cli = reference(toy);
        const query = new URLSearchParams({ toy, backend, ...SMALL[toy], steps: cli.steps, autoplay: 1 });
        const page = await open(browser.context, server, `/?${query}`);
        try {
          const done = await waitState(page, `${cli.steps} steps of ${toy} on ${backend}`, (s) => s.phase === 'done' || s.phase === 'failed' || s.error !== '' || s.notice !== '', {
            timeout: 120_000,
          });
          const state = await pageState(page);
          assert.equal(done.error, '', `the page shows an error\n  ${state}`);
          assert.equal(done.backend, backend, `badge "${done.backend}" (reason "${done.reason}", notice "${done.notice}")\n  ${state}`);
          assert.equal(done.phase, 'done', `the run did not finish\n  ${state}`);
          assert.equal(stepOf(done), cli.steps);

          // One chart per quantity (the last part of a metric's name), a series per metric, a point per row.
          const names = Object.keys(cli.rows[0]).filter((k) => k !== 'step');
          const quantities = [...new Set(names.map((n) => n.slice(n.lastIndexOf('/') + 1)))];
          assert.deepEqual(Object.keys(done.charts).sort(), [...quantities].sort(), `charts of ${toy}`);
          for (const q of quantities) assert.equal(done.charts[q], cli.rows.length, `chart-${q}: points; charts: ${JSON.stringify(done.charts)}`);
          const labels = await legends(page);
          for (const q of quantities) {
            const series = names.filter((n) => n.endsWith(`/${q}`)).length;
            assert.equal(labels[q].length, series, `chart-${q} has series ${JSON.stringify(labels[q])}, the toy ${series} metrics of it`);
            assert.equal(new Set(labels[q]).size, series, `chart-${q}: two series share a label: ${JSON.stringify(labels[q])}`);
          }

          // Every figure the toy draws: on the CPU of the CLI's size, on WebGPU (whose values differ in the last bits) drawn.
          for (const f of cli.figures) {
            const [n, want] = [done.figures[f.id], figurePoints(f)];
            const what = `figure-${f.id} has ${n} points, the CLI's ${want}; figures: ${JSON.stringify(done.figures)}`;
            if (backend === 'cpu') assert.equal(n, want, what);
            else assert.ok(n !== undefined && (n > 0 || want === 0), what);
          }
          // The run's verdict on its claim: the CLI's line, word for word, on the CPU.
          if (backend === 'cpu') assert.ok(done.verdict.endsWith(cli.verdict.line), `verdict "${done.verdict}", the CLI's "${cli.verdict.line}"`);
          else assert.notEqual(done.verdict, '', 'a finished run states its verdict');
          if (backend === 'cpu') assert.equal(done.digest, cli.digest, `browser digest ${done.digest} != CLI digest ${cli.digest} (${toy}, ${cli.steps} steps)`);
          else assert.match(done.digest, /^[0-9a-f]{16}$/, 'a WebGPU run shows its digest too');
        } finally {
          await page.close();
        }
      });
    }
  });
}
