// The icl-linreg page on both backends: `/?toy=icl-linreg` trains a few steps on the CPU
// (WebAssembly) and on WebGPU (SwiftShader here, so tiny settings), and its step charts and
// both figures (error against k, the linear attention's Γ) receive points, with no error shown.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, pageState, startSite, stepOf, waitState } from './helpers.mjs';

const STEPS = 4;
// d = 3, n = 4: the error figure has k = 0…4 (5 points per series × 7 series), Γ is 3 × (2·3+1).
const LINK = `/?toy=icl-linreg&d=3&n=4&d_model=16&layers=1&heads=1&batch_size=8&eval_every=2&steps=${STEPS}&autoplay=1`;
const FIGURES = { error_vs_k: 5 * 7, lsa_gamma: 3 * 7 };

let server;
before(async () => {
  server = await startSite();
});
after(async () => {
  await server?.close();
});

async function trainsAndDraws(webgpu, backend) {
  const browser = await launch({ webgpu });
  try {
    const page = await open(browser.context, server, `${LINK}&backend=${backend}`);
    const done = await waitState(page, `${STEPS} steps on ${backend}`, (s) => s.phase === 'done' || s.phase === 'failed' || s.error !== '', { timeout: 150_000 });
    assert.equal(done.error, '', `the page shows an error\n  ${await pageState(page)}`);
    assert.equal(stepOf(done), STEPS, `the run stopped at ${done.step}\n  ${await pageState(page)}`);
    assert.equal(done.backend, backend, `the badge says "${done.backend}" (reason "${done.reason}")`);
    // Rows at steps 0, 2, 4 in every chart: mse (5 curves) and gd_gap.
    for (const group of ['mse', 'gd_gap']) assert.equal(done.charts[group], 3, `chart-${group}: ${JSON.stringify(done.charts)}`);
    const f = await waitState(page, 'both figures to fill', (s) => Object.entries(FIGURES).every(([id, n]) => s.figures[id] === n), { timeout: 30_000 });
    assert.equal(f.error, '');
  } finally {
    await browser.close();
  }
}

test('icl-linreg trains and draws its charts and figures on the CPU', { timeout: 180_000 }, () => trainsAndDraws(false, 'cpu'));

test('icl-linreg trains and draws its charts and figures on WebGPU', { timeout: 180_000 }, () => trainsAndDraws(true, 'webgpu'));
