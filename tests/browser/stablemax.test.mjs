// The stablemax toy in the browser, on both backends, with tiny settings from the link (p = 7,
// width 16): the charts grouped by metric (val_acc, zero_loss, logit_norm, …) each receive
// points from all three arms, no error shows, and on the CPU the digest equals the CLI's.
// WebGPU is SwiftShader here (seconds per step), hence few steps.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cliRun, launch, open, pageState, startSite, stepOf, waitState } from './helpers.mjs';

const STEPS = 10;
const TINY = `p=7&d_model=16&eval_every=5&steps=${STEPS}&autoplay=1`;
const CHARTS = ['val_acc', 'train_acc', 'zero_loss', 'logit_norm'];

let server;
before(async () => {
  server = await startSite();
});
after(async () => {
  await server?.close();
});

/** Runs the link to its end and checks the charts and the page; returns the final state. */
async function runTiny(webgpu, link, backend) {
  const browser = await launch({ webgpu });
  try {
    const page = await open(browser.context, server, link);
    const done = await waitState(page, `${STEPS} steps of stablemax on ${backend}`, (s) => s.phase === 'done' || s.phase === 'failed' || s.error !== '' || s.notice !== '', {
      timeout: 150_000,
    });
    assert.equal(done.error, '', `the page shows an error\n  ${await pageState(page)}`);
    assert.equal(done.backend, backend, `badge "${done.backend}" (reason "${done.reason}", notice "${done.notice}")\n  ${await pageState(page)}`);
    assert.equal(done.phase, 'done', `the run did not finish\n  ${await pageState(page)}`);
    assert.equal(stepOf(done), STEPS);
    for (const group of CHARTS) {
      // Rows at steps 0, 5 and 10, one series per arm: at least 3 points in each chart.
      assert.ok((done.charts[group] ?? 0) >= 3, `chart-${group} has ${done.charts[group]} points; charts: ${JSON.stringify(done.charts)}`);
    }
    return done;
  } finally {
    await browser.close();
  }
}

test('stablemax on the CPU: charts fill, digest equals the CLI', { timeout: 200_000 }, async () => {
  const cli = cliRun('stablemax', ['--set', 'p=7', '--set', 'd_model=16', '--set', 'eval_every=5', '--steps', `${STEPS}`]);
  const done = await runTiny(false, `/?toy=stablemax&backend=cpu&${TINY}`, 'cpu');
  assert.equal(done.digest, cli.digest, `browser digest ${done.digest} != CLI digest ${cli.digest}`);
});

test('stablemax on WebGPU: charts fill', { timeout: 200_000 }, async () => {
  await runTiny(true, `/?toy=stablemax&${TINY}`, 'webgpu');
});
