// Every "what to try" button of every toy page applies cleanly: the settings it names are ones
// the toy has, in range, so no control shows an error, the page's error box stays empty and
// training starts. The test does not wait for those runs to finish.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, pageState, startSite, toyIds, waitState } from './helpers.mjs';

let server;
let browser;
before(async () => {
  server = await startSite();
  browser = await launch({ webgpu: false });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

for (const toy of toyIds()) {
  test(`${toy}: every "try it" button applies without a rejected setting`, { timeout: 120_000 }, async () => {
    const page = await open(browser.context, server, `/?toy=${toy}&backend=cpu`);
    await waitState(page, `${toy} ready`, (s) => s.phase === 'ready' || s.error !== '', { timeout: 60_000 });
    const buttons = await page.$$('.try-button');
    assert.ok(buttons.length >= 2, `${toy} has ${buttons.length} "try it" buttons`);
    for (const [i, button] of buttons.entries()) {
      // Paused first, so that "training" below can only be the run this button starts.
      await page.$eval('[data-testid="pause"]', (b) => b.click()); // disabled, and so a no-op, when not playing
      await waitState(page, `${toy} paused`, (s) => s.phase !== 'training', { timeout: 30_000 });
      await button.click();
      const s = await waitState(page, `${toy} try ${i + 1} training`, (s) => s.phase === 'training' || s.error !== '', { timeout: 60_000 });
      const errors = await page.$$eval('.control-msg.is-error:not([hidden])', (ms) => ms.map((m) => m.textContent));
      const state = await pageState(page);
      assert.deepEqual(errors, [], `${toy} try ${i + 1}: a control says ${JSON.stringify(errors)}\n  ${state}`);
      assert.equal(s.error, '', `${toy} try ${i + 1}: the page shows an error\n  ${state}`);
    }
    await page.close();
  });
}
