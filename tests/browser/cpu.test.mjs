// The CPU (WebAssembly) path: forced with backend=cpu, and chosen on its own in a Chromium
// without the WebGPU flags, where navigator.gpu exists but requestAdapter() returns null.
// Also saves a screenshot of the page after some training and measures load-to-first-point.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, measure, open, pageState, screenshot, startSite, stepOf, waitState } from './helpers.mjs';

let server;
before(async () => {
  server = await startSite();
});
after(async () => {
  await server?.close();
});

test('CPU forced with backend=cpu in a WebGPU-capable Chromium', { timeout: 120_000 }, async () => {
  const browser = await launch({ webgpu: true });
  try {
    const page = await open(browser.context, server, '/?toy=grokking&backend=cpu&autoplay=1&p=23&d_model=32');
    const s = await waitState(page, 'training to advance on the CPU', (s) => s.backend !== '' && stepOf(s) > 0, { timeout: 60_000 });
    assert.equal(s.backend, 'cpu', `badge: "${s.backend}" (reason "${s.reason}")\n  ${await pageState(page)}`);
    assert.equal(s.error, '', `the page shows an error\n  ${await pageState(page)}`);
    const p = await waitState(page, 'chart-acc to draw more than one point', (x) => x.accPoints > 1, { timeout: 60_000 });
    assert.equal(p.backend, 'cpu');
    measure('cpu: navigation to first points, forced cpu (p=23, d_model=32)', `${((performance.now() - page.ptStart) / 1000).toFixed(1)} s to chart-acc > 1`);
    measure('cpu: steps/s (p=23, d_model=32)', `${p.stepsPerSecond} (at step ${p.step})`);
    // The toy's figure: the probability of the right answer for all 23 × 23 equations.
    const f = await waitState(page, 'the answer map (figure-answers) to fill', (x) => x.figures.answers === 23 * 23, { timeout: 30_000 });
    assert.equal(f.error, '');
  } finally {
    await browser.close();
  }
});

test('CPU fallback: no WebGPU adapter, the reason is shown, training advances', { timeout: 150_000 }, async () => {
  const browser = await launch({ webgpu: false });
  try {
    const t0 = performance.now();
    const page = await open(browser.context, server, '/?toy=grokking&autoplay=1');

    const gpu = await page.evaluate(async () => {
      if (!navigator.gpu) return { hasGpu: false };
      return { hasGpu: true, adapter: (await navigator.gpu.requestAdapter()) !== null };
    });
    assert.deepEqual(gpu, { hasGpu: true, adapter: false }, 'this Chromium should expose navigator.gpu but give no adapter');

    // Time from navigation to the first accuracy point, polled every 20 ms.
    const first = await waitState(page, 'the first accuracy point', (s) => s.accPoints >= 1 || s.error !== '', { timeout: 90_000, interval: 20 });
    const firstPointS = (performance.now() - t0) / 1000;
    assert.equal(first.error, '', `the page shows an error\n  ${await pageState(page)}`);
    measure('cpu: navigation to first chart point (default link, no WebGPU)', `${firstPointS.toFixed(2)} s`);

    const s = await waitState(page, 'training to advance', (s) => stepOf(s) > 0, { timeout: 60_000 });
    assert.equal(s.backend, 'cpu', `badge: "${s.backend}"\n  ${await pageState(page)}`);
    assert.notEqual(s.reason, '', 'backend-reason is empty');
    assert.match(s.reason, /webgpu|adapter/i, `backend-reason should say why WebGPU is not used: "${s.reason}"`);

    // Train a while, then measure and keep a picture of the page for a person to look at.
    const at = stepOf(s);
    const tAt = performance.now();
    const later = await waitState(page, 'twenty more steps', (x) => stepOf(x) >= at + 20 && x.accPoints > 1, { timeout: 90_000 });
    const wall = ((stepOf(later) - at) * 1000) / (performance.now() - tAt);
    measure('cpu: steps/s, page hook (default config)', `${later.stepsPerSecond} (at step ${later.step})`);
    measure('cpu: steps/s, wall clock from the step counter (default config)', `${wall.toFixed(1)} (steps ${at}→${stepOf(later)})`);
    console.log(`backend-reason without WebGPU: "${later.reason}"`);
    const shot = await screenshot(page, 'grokking-cpu');
    console.log(`screenshot: ${shot}`);
  } finally {
    await browser.close();
  }
});
