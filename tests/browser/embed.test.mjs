// Embed mode: embed=1 shows only the toy, hide=… hides the named controls; a screenshot of
// the embedded toy is kept for a person to look at.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, screenshot, startSite, waitState } from './helpers.mjs';

let server, browser;
before(async () => {
  server = await startSite();
  browser = await launch({ webgpu: false });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

// The site chrome and prose around the toy: web/src/main.ts renders them only without embed=1.
const CHROME = ['.site-header', '.intro', '.notes', '.site-footer'];

test('embed=1&hide=lr,weight_decay shows the toy without the named controls', { timeout: 90_000 }, async () => {
  // The full page first: the chrome is there and every control shows.
  const full = await open(browser.context, server, '/?toy=grokking');
  await waitState(full, 'the page to load', (s) => s.backend !== '', { timeout: 60_000 });
  for (const sel of CHROME) assert.ok(await full.isVisible(sel), `${sel} is not visible on the full page`);
  for (const key of ['lr', 'weight_decay', 'p']) assert.ok(await full.isVisible(`[data-param="${key}"]`), `${key} control hidden on the full page`);
  await full.close();

  const page = await open(browser.context, server, '/?toy=grokking&embed=1&hide=lr,weight_decay');
  await waitState(page, 'the embedded toy to load', (s) => s.backend !== '', { timeout: 60_000 });
  assert.ok(await page.isHidden('[data-param="lr"]'), 'lr control still visible');
  assert.ok(await page.isHidden('[data-param="weight_decay"]'), 'weight_decay control still visible');
  assert.ok(await page.isHidden('.ui-lr'), '.ui-lr still visible');
  assert.ok(await page.isHidden('.ui-weight_decay'), '.ui-weight_decay still visible');
  for (const key of ['p', 'seed', 'd_model']) assert.ok(await page.isVisible(`[data-param="${key}"]`), `the ${key} control is hidden in embed mode`);
  for (const sel of CHROME) assert.ok(await page.isHidden(sel), `${sel} is visible in embed mode`);
  assert.ok(await page.isVisible('[data-testid="play"]'), 'play is hidden in embed mode');
  assert.ok(await page.isVisible('[data-testid="chart-acc"]'), 'the accuracy chart is hidden in embed mode');

  // The embedded toy still trains.
  await page.click('[data-testid="play"]');
  await waitState(page, 'training in embed mode', (s) => Number(s.step) > 0 && s.accPoints > 1, { timeout: 60_000 });
  console.log(`screenshot: ${await screenshot(page, 'grokking-embed')}`);
});
