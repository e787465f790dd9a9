// The WebGPU path: Chromium with SwiftShader's WebGPU adapter (Vulkan on the CPU) trains the
// grokking toy on WebGPU. No adapter is a failure, not a skip (DESIGN.md, Testing).
//
// SwiftShader is slow (seconds per step, most of it in the first step's pipeline set-up), so
// the run is tiny and has a target of 12 steps: metric rows at steps 0 and 10, then it stops.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, measure, open, pageState, startSite, stepOf, waitState } from './helpers.mjs';

const STEPS = 12;
const LINK = `/?toy=grokking&p=23&d_model=32&steps=${STEPS}&autoplay=1`;

let server, browser;
before(async () => {
  server = await startSite();
  browser = await launch({ webgpu: true });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test('WebGPU: the badge says webgpu and training advances', { timeout: 170_000 }, async () => {
  const page = await open(browser.context, server, LINK);

  const adapter = await page.evaluate(async () => {
    if (!navigator.gpu) return 'navigator.gpu is missing';
    const a = await navigator.gpu.requestAdapter();
    return a ? `${a.info?.vendor ?? '?'} ${a.info?.architecture ?? '?'}` : null;
  });
  assert.ok(adapter && !adapter.startsWith('navigator'), `no WebGPU adapter in this Chromium (${adapter}): the WebGPU test fails rather than skips`);

  // The page picks its backend: fail at once if it falls back to the CPU.
  const created = await waitState(page, 'the backend badge', (s) => s.backend !== '' || s.error !== '', { timeout: 60_000 });
  assert.equal(created.backend, 'webgpu', `the badge says "${created.backend}", not webgpu; backend-reason: "${created.reason}"; error: "${created.error}"\n  ${await pageState(page)}`);
  assert.equal(created.error, '', `the page shows an error on the WebGPU path\n  ${await pageState(page)}`);

  // Wall-clock steps/s from the step counter itself, next to the page's own reading.
  const seen = [];
  const done = await waitState(
    page,
    `the run to train ${STEPS} steps on WebGPU`,
    (s) => {
      const n = stepOf(s);
      if (n > 0 && (seen.length === 0 || seen[seen.length - 1].step !== n)) seen.push({ step: n, t: performance.now(), sps: s.stepsPerSecond });
      return s.phase === 'done' || s.phase === 'failed' || s.backend !== 'webgpu' || s.notice !== '';
    },
    { timeout: 150_000, interval: 100 },
  );
  assert.equal(done.backend, 'webgpu', `the run left WebGPU: notice "${done.notice}"\n  ${await pageState(page)}`);
  assert.equal(done.phase, 'done', `the run did not finish\n  ${await pageState(page)}`);
  assert.equal(stepOf(done), STEPS);
  assert.ok(done.accPoints > 1, `chart-acc has ${done.accPoints} points`);
  assert.match(done.digest, /^[0-9a-f]{16}$/, 'the digest line shows a digest on WebGPU too');
  // The figures come before the stop: the answer map, read back from the GPU.
  assert.equal(done.figures.answers, 23 * 23, `figure-answers: ${JSON.stringify(done.figures)}`);

  const [a, b] = [seen[0], seen[seen.length - 1]];
  const wall = a && b && b.step > a.step ? ((b.step - a.step) * 1000) / (b.t - a.t) : NaN;
  measure('webgpu: steps/s, page hook (p=23, d_model=32, SwiftShader)', `${done.stepsPerSecond} (reason "${done.reason}", adapter ${adapter})`);
  measure('webgpu: steps/s, wall clock from the step counter', `${wall.toFixed(2)} (steps ${a?.step}→${b?.step}; counter readings ${seen.map((x) => x.step).join(',')})`);
  measure('webgpu: navigation to run done', `${((b.t - page.ptStart) / 1000).toFixed(1)} s for ${STEPS} steps`);
});
