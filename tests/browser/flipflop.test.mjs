// The flipflop toy in the page, on the CPU (WebAssembly) and on WebGPU (SwiftShader): the
// read-error chart and the loss chart get points, the error-count table has its three test
// sets, the glitch table has rows, and no error shows. Tiny settings from the link keep
// SwiftShader's seconds per step affordable: 10 steps, a metric row every 5.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, pageState, startSite, stepOf, waitState } from './helpers.mjs';

const STEPS = 10;
const TINY = `toy=flipflop&seq_len=16&layers=1&d_model=16&heads=1&batch_size=8&test_strings=32&eval_every=5&steps=${STEPS}&autoplay=1`;

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
    // After 10 steps the model still guesses, so the glitch table is full: 4 per test set.
    const f = await waitState(page, 'the figures', (s) => s.figures['read-errors'] === 3 && s.figures.glitches === 12, { timeout: 30_000 });
    assert.equal(f.error, '');
  } finally {
    await browser.close();
  }
}

test('flipflop on the CPU: read errors, loss, error counts and glitches', { timeout: 120_000 }, () => trainsAndShowsGlitches('cpu', { webgpu: false, timeout: 90_000 }));

test('flipflop on WebGPU: the same, read back from the GPU', { timeout: 200_000 }, () => trainsAndShowsGlitches('webgpu', { webgpu: true, timeout: 170_000 }));
