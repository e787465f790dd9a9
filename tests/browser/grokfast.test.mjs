// The grokfast toy in the page, on both backends with tiny settings: both arms' metrics reach
// the shared charts (plain/val_acc and grokfast/val_acc in chart-val_acc, …) and the table of
// steps to 95% validation accuracy is drawn (one row per arm and one for the ratio).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, pageState, startSite, stepOf, waitState } from './helpers.mjs';

const TINY = 'p=23&d_model=32&batch_size=64&eval_every=5&steps=10&autoplay=1';
const GROUPS = ['train_acc', 'val_acc', 'train_loss', 'val_loss', 'weight_norm'];

let server;
before(async () => {
  server = await startSite();
});
after(async () => {
  await server?.close();
});

async function runTiny(webgpu, backend) {
  const browser = await launch({ webgpu });
  try {
    const page = await open(browser.context, server, `/?toy=grokfast&${TINY}${webgpu ? '' : '&backend=cpu'}`);
    const done = await waitState(page, 'the tiny run to finish', (s) => s.phase === 'done' || s.phase === 'failed' || s.error !== '', { timeout: 150_000 });
    assert.equal(done.error, '', `the page shows an error\n  ${await pageState(page)}`);
    assert.equal(done.backend, backend, `badge "${done.backend}" (reason "${done.reason}")`);
    assert.equal(stepOf(done), 10);
    for (const g of GROUPS) {
      // Rows at steps 0, 5 and 10, for both arms.
      assert.ok(done.charts[g] > 1, `chart-${g} has ${done.charts[g]} points: ${JSON.stringify(done.charts)}`);
    }
    assert.equal(done.figures.speedup, 3, `figure-speedup: ${JSON.stringify(done.figures)}`);
  } finally {
    await browser.close();
  }
}

test('grokfast on the CPU: both arms chart, the speed-up table is drawn', { timeout: 170_000 }, () => runTiny(false, 'cpu'));

test('grokfast on WebGPU: both arms chart, the speed-up table is drawn', { timeout: 170_000 }, () => runTiny(true, 'webgpu'));
