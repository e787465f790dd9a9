// The hedgehog toy in the browser, on both backends, with tiny settings from the link (4 pairs,
// width 16, one layer): the charts grouped by metric (recall_acc, loss, entropy) each receive
// points from all three arms, the figures (recall table, one attention map per arm, the entropy
// histogram) fill, no error shows, and on the CPU the digest equals the CLI's. WebGPU is
// SwiftShader here (seconds per step), hence few steps.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cliRun, launch, open, pageState, startSite, stepOf, waitState } from './helpers.mjs';

const STEPS = 6;
const SMALL = { vocab: 16, pairs: 4, queries: 2, layers: 1, d_model: 16, batch_size: 8, test_sequences: 16, eval_every: 3 };
const TINY = `${Object.entries(SMALL).map(([k, v]) => `${k}=${v}`).join('&')}&steps=${STEPS}&autoplay=1`;
const CHARTS = ['recall_acc', 'loss', 'entropy'];
const FIGURES = ['recall', 'attention-softmax-layer1', 'attention-linear-layer1', 'attention-hedgehog-layer1', 'entropy-histogram'];

let server;
before(async () => {
  server = await startSite();
});
after(async () => {
  await server?.close();
});

/** Runs the link to its end and checks the charts, figures and the page; returns the final state. */
async function runTiny(webgpu, backend) {
  const browser = await launch({ webgpu });
  try {
    const page = await open(browser.context, server, `/?toy=hedgehog&backend=${backend}&${TINY}`);
    const done = await waitState(page, `${STEPS} steps of hedgehog on ${backend}`, (s) => s.phase === 'done' || s.phase === 'failed' || s.error !== '' || s.notice !== '', {
      timeout: 150_000,
    });
    assert.equal(done.error, '', `the page shows an error\n  ${await pageState(page)}`);
    assert.equal(done.backend, backend === 'cpu' ? 'cpu' : 'webgpu', `badge "${done.backend}" (reason "${done.reason}", notice "${done.notice}")\n  ${await pageState(page)}`);
    assert.equal(done.phase, 'done', `the run did not finish\n  ${await pageState(page)}`);
    assert.equal(stepOf(done), STEPS);
    for (const group of CHARTS) {
      // Rows at steps 0, 3 and 6, one series per arm: at least 3 points in each chart.
      assert.ok((done.charts[group] ?? 0) >= 3, `chart-${group} has ${done.charts[group]} points; charts: ${JSON.stringify(done.charts)}`);
    }
    const f = await waitState(page, 'every figure to receive points', (s) => FIGURES.every((id) => s.figures[id] > 0), { timeout: 60_000 });
    assert.equal(f.figures.recall, 3, 'the recall table has a row per arm');
    assert.equal(f.error, '');
    return done;
  } finally {
    await browser.close();
  }
}

test('hedgehog on the CPU: charts and figures fill, digest equals the CLI', { timeout: 200_000 }, async () => {
  const cli = cliRun('hedgehog', [...Object.entries(SMALL).flatMap(([k, v]) => ['--set', `${k}=${v}`]), '--steps', `${STEPS}`]);
  const done = await runTiny(false, 'cpu');
  assert.equal(done.digest, cli.digest, `browser digest ${done.digest} != CLI digest ${cli.digest}`);
});

test('hedgehog on WebGPU: charts and figures fill', { timeout: 200_000 }, async () => {
  await runTiny(true, 'webgpu');
});
