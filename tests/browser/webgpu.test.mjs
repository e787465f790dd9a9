// The WebGPU path: Chromium with SwiftShader's WebGPU adapter (Vulkan on the CPU) trains the
// grokking toy on WebGPU. No adapter is a failure, not a skip (DESIGN.md, Testing). The worker
// keeps its GPU device across runs: after Reset the same run is built again on it, and repeats
// exactly (same digest), with its pipelines already compiled.
//
// SwiftShader is slow (seconds per step, most of it in the first step's pipeline set-up), so the
// run is tiny: metric rows at steps 0, 2 and 4, then it stops.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, measure, open, pageState, startSite, stepOf, tid, waitState } from './helpers.mjs';

const STEPS = 4;
const CONFIG = 'p=7&d_model=16&batch_size=8&eval_every=2';
const LINK = `/?toy=grokking&${CONFIG}&steps=${STEPS}&autoplay=1`;

let server, browser;
before(async () => {
  server = await startSite();
  browser = await launch({ webgpu: true });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** Waits for the run to finish on WebGPU; returns the final state and the seconds it took from `t0`. */
async function runToEnd(page, t0) {
  const done = await waitState(page, `the run to train ${STEPS} steps on WebGPU`, (s) => s.phase === 'done' || s.phase === 'failed' || s.backend === 'cpu' || s.notice !== '', {
    timeout: 120_000,
  });
  assert.equal(done.backend, 'webgpu', `the run is not on WebGPU: reason "${done.reason}", notice "${done.notice}"\n  ${await pageState(page)}`);
  assert.equal(done.phase, 'done', `the run did not finish\n  ${await pageState(page)}`);
  assert.equal(stepOf(done), STEPS);
  assert.equal(done.error, '', `the page shows an error on the WebGPU path\n  ${await pageState(page)}`);
  assert.equal(done.accPoints, 3, `chart-acc has ${done.accPoints} points`);
  assert.match(done.digest, /^[0-9a-f]{16}$/, 'the digest line shows a digest on WebGPU too');
  return { done, seconds: (performance.now() - t0) / 1000 };
}

test('WebGPU: the badge says webgpu, training finishes, and a reset run repeats on the same device', { timeout: 200_000 }, async () => {
  const page = await open(browser.context, server, LINK);
  const adapter = await page.evaluate(async () => {
    if (!navigator.gpu) return 'navigator.gpu is missing';
    const a = await navigator.gpu.requestAdapter();
    return a ? `${a.info?.vendor ?? '?'} ${a.info?.architecture ?? '?'}` : null;
  });
  assert.ok(adapter && !adapter.startsWith('navigator'), `no WebGPU adapter in this Chromium (${adapter}): the WebGPU test fails rather than skips`);

  const first = await runToEnd(page, page.ptStart);
  // The figure comes before the stop: the answer map, read back from the GPU.
  assert.equal(first.done.figures.answers, 7 * 7, `figure-answers: ${JSON.stringify(first.done.figures)}`);
  measure(`webgpu: navigation to run done (${CONFIG}, SwiftShader)`, `${first.seconds.toFixed(1)} s for ${STEPS} steps (reason "${first.done.reason}", adapter ${adapter})`);

  const t0 = performance.now();
  await page.click(tid('reset'));
  await waitState(page, 'the reset run to be ready', (s) => s.phase === 'ready' && stepOf(s) === 0, { timeout: 60_000 });
  await page.click(tid('play'));
  const again = await runToEnd(page, t0);
  assert.equal(again.done.digest, first.done.digest, 'a WebGPU run of the same config on the same device gave another digest');
  measure(`webgpu: reset to run done on the kept device (${CONFIG})`, `${again.seconds.toFixed(1)} s for ${STEPS} steps`);
});
