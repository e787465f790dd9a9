// The flipflop toy in the page, on the CPU (WebAssembly) and on WebGPU (SwiftShader): the
// read-error chart and the loss chart get points, from the transformer and from the recurrent
// (LSTM) baseline, whose series sit beside the transformer's; the error-count table has its
// three test sets for each model, the glitch table has rows, no error shows, and on the CPU the
// digest equals the CLI's. Tiny settings from the link keep SwiftShader's seconds per step
// affordable: 10 steps, a metric row every 5, an LSTM of 8 units.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cliRun, launch, open, pageState, startSite, stepOf, waitState } from './helpers.mjs';

const STEPS = 10;
const SMALL = { seq_len: 16, layers: 1, d_model: 16, heads: 1, batch_size: 8, lstm_hidden: 8, test_strings: 32, eval_every: 5 };
const TINY = `toy=flipflop&${new URLSearchParams(SMALL)}&steps=${STEPS}&autoplay=1`;

/** The series labels in a chart's legend. */
const legend = (page, group) =>
  page.$$eval(`[data-testid="chart-${group}"] .u-legend .u-series .u-label`, (els) => els.map((e) => (e.textContent ?? '').trim()));

let server;
before(async () => {
  server = await startSite();
});
after(async () => {
  await server?.close();
});

async function trainsAndShowsGlitches(backend, { webgpu, timeout }) {
  const browser = await launch({ webgpu });
  try {
    const page = await open(browser.context, server, `/?${TINY}&backend=${backend}`);
    const done = await waitState(page, `${STEPS} steps of flipflop on ${backend}`, (s) => s.phase === 'done' || s.phase === 'failed' || s.error !== '', { timeout });
    assert.equal(done.error, '', `the page shows an error\n  ${await pageState(page)}`);
    assert.equal(done.backend, backend === 'cpu' ? 'cpu' : 'webgpu', `badge "${done.backend}" (reason "${done.reason}")`);
    assert.equal(stepOf(done), STEPS);
    assert.equal(done.charts.read_err, 3, `chart-read_err rows (steps 0, 5, 10): ${JSON.stringify(done.charts)}`);
    assert.equal(done.charts.loss, 3, `chart-loss rows: ${JSON.stringify(done.charts)}`);
    // Every row carries both models' values; the LSTM's series are on the same two charts.
    const errSeries = await legend(page, 'read_err');
    for (const s of ['in_dist', 'sparse', 'dense', 'lstm/in_dist', 'lstm/sparse', 'lstm/dense']) {
      assert.ok(errSeries.includes(s), `no "${s}" series on the read-error chart: ${JSON.stringify(errSeries)}`);
    }
    assert.ok((await legend(page, 'loss')).includes('lstm/train'), 'no LSTM series on the loss chart');
    // After 10 steps the transformer still guesses, so the glitch table is full: 4 per test set;
    // the error counts have a row per model and test set.
    const f = await waitState(page, 'the figures', (s) => s.figures['read-errors'] === 6 && s.figures.glitches === 12, { timeout: 30_000 });
    assert.equal(f.error, '');
    return done;
  } finally {
    await browser.close();
  }
}

test('flipflop on the CPU: read errors of both models, loss, error counts and glitches; digest equals the CLI', { timeout: 180_000 }, async () => {
  const cli = cliRun('flipflop', [...Object.entries(SMALL).flatMap(([k, v]) => ['--set', `${k}=${v}`]), '--steps', `${STEPS}`]);
  const done = await trainsAndShowsGlitches('cpu', { webgpu: false, timeout: 90_000 });
  assert.equal(done.digest, cli.digest, `browser digest ${done.digest} != CLI digest ${cli.digest}`);
});

test('flipflop on WebGPU: the same, read back from the GPU', { timeout: 200_000 }, () => trainsAndShowsGlitches('webgpu', { webgpu: true, timeout: 170_000 }));
