// The backtrack toy in the page, on both backends: training fills the loss chart, and the
// figures (samplers' accuracy against queries, cost against B, the summary and samples tables,
// the uniform-generator theory curve) receive points, with no error shown. Tiny settings:
// SwiftShader's WebGPU is slow, and the figures sample from the model after training stops.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, pageState, startSite, waitState } from './helpers.mjs';

const TINY = 'length=12&prompt_depth=4&train_depth=3&d_model=16&heads=2&layers=1&batch_size=8&eval_every=5&prompts=3&budget=24';

let server;
before(async () => {
  server = await startSite();
});
after(async () => {
  await server?.close();
});

async function check(webgpu, backend, steps) {
  const browser = await launch({ webgpu });
  try {
    const page = await open(browser.context, server, `/?toy=backtrack&backend=${backend}&${TINY}&steps=${steps}&autoplay=1`);
    const done = await waitState(page, `the ${backend} run to finish`, (s) => s.phase === 'done' || s.phase === 'failed' || s.error !== '', { timeout: 100_000 });
    assert.equal(done.error, '', `the page shows an error\n  ${await pageState(page)}`);
    assert.equal(done.backend, backend === 'cpu' ? 'cpu' : 'webgpu', `badge "${done.backend}"\n  ${await pageState(page)}`);
    assert.ok(done.charts.loss > 1, `the loss chart has ${done.charts.loss} points\n  ${await pageState(page)}`);
    const f = await waitState(page, 'every figure to receive points', (s) => ['accuracy', 'queries_vs_b', 'summary', 'samples', 'uniform'].every((id) => s.figures[id] > 0), { timeout: 60_000 });
    assert.equal(f.figures.summary, 4, 'the summary table has a row per sampler');
    assert.equal(f.figures.samples, 3, 'the samples table has a row per prompt');
    assert.equal(f.error, '');
  } finally {
    await browser.close();
  }
}

test('backtrack on the CPU: loss chart and every figure', { timeout: 150_000 }, () => check(true, 'cpu', 30));
test('backtrack on WebGPU: loss chart and every figure', { timeout: 170_000 }, () => check(true, 'webgpu', 6));
