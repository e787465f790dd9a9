// The sharpening toy in the page, on both backends: pre-training and then SFT-sharpening fill
// the loss, accuracy and self-likelihood charts; the figures (best-of-N accuracy against N, mass
// per prompt, the summary and per-prompt tables) receive points, with no error shown; on the CPU
// the digest equals the CLI's. Tiny settings from the link (4 prompts, answers of 2 letters, a
// 1-layer model of width 16, sharpening from step 4): SwiftShader's WebGPU takes seconds a step.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cliRun, launch, open, pageState, startSite, stepOf, waitState } from './helpers.mjs';

const STEPS = 8;
const SET = { prompts: 4, answer_len: 2, alphabet: 4, coverage: 0.5, layers: 1, d_model: 16, heads: 1, batch_size: 8, sharpen_at: 4, n: 2, eval_every: 4 };
const TINY = `${Object.entries(SET).map(([k, v]) => `${k}=${v}`).join('&')}&steps=${STEPS}&autoplay=1`;
const FIGURES = ['bon_vs_n', 'mass', 'summary', 'prompts'];

let server;
before(async () => {
  server = await startSite();
});
after(async () => {
  await server?.close();
});

/** Runs the tiny link to its end on `backend`, checks charts and figures; returns the final state. */
async function check(webgpu, backend, timeout) {
  const browser = await launch({ webgpu });
  try {
    const page = await open(browser.context, server, `/?toy=sharpening&backend=${backend}&${TINY}`);
    const done = await waitState(page, `${STEPS} steps of sharpening on ${backend}`, (s) => s.phase === 'done' || s.phase === 'failed' || s.error !== '', { timeout });
    assert.equal(done.error, '', `the page shows an error\n  ${await pageState(page)}`);
    assert.equal(done.backend, backend === 'cpu' ? 'cpu' : 'webgpu', `badge "${done.backend}" (reason "${done.reason}")\n  ${await pageState(page)}`);
    assert.equal(stepOf(done), STEPS);
    // Rows at steps 0, 4 and 8: the greedy and best-of-N accuracy share the "acc" chart.
    for (const group of ['loss', 'acc', 'self_loglik']) {
      assert.ok((done.charts[group] ?? 0) >= 3, `chart-${group} has ${done.charts[group]} points; charts: ${JSON.stringify(done.charts)}`);
    }
    const f = await waitState(page, 'every figure to receive points', (s) => FIGURES.every((id) => s.figures[id] > 0), { timeout: 60_000 });
    assert.equal(f.figures.prompts, SET.prompts, 'the per-prompt table has a row per prompt');
    assert.equal(f.error, '');
    return done;
  } finally {
    await browser.close();
  }
}

test('sharpening on the CPU: charts, figures, digest equals the CLI', { timeout: 150_000 }, async () => {
  const cli = cliRun('sharpening', [...Object.entries(SET).flatMap(([k, v]) => ['--set', `${k}=${v}`]), '--steps', `${STEPS}`]);
  const done = await check(false, 'cpu', 90_000);
  assert.match(done.digest, /^[0-9a-f]{16}$/);
  assert.equal(done.digest, cli.digest, `browser digest ${done.digest} != CLI digest ${cli.digest}`);
});

test('sharpening on WebGPU: charts and figures', { timeout: 200_000 }, () => check(true, 'webgpu', 170_000));
