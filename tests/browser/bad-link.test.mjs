// Hand-edited links: unknown keys, malformed and out-of-range values, an unknown toy and an
// unknown link version each show a clear message naming the culprit, fall back to defaults,
// and leave a working page. Nothing from the link is inserted as HTML.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, pageState, paramValue, snapshot, startSite, stepOf, tid, waitState } from './helpers.mjs';

let server, browser;
before(async () => {
  server = await startSite();
  browser = await launch({ webgpu: false });
  // Any alert() call is recorded, in case a link value ever runs as script.
  await browser.context.addInitScript(() => {
    window.__alerts = [];
    window.alert = (m) => window.__alerts.push(String(m));
  });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

const loaded = (page) => waitState(page, 'the page to load', (s) => s.backend !== '', { timeout: 60_000 });

test('malformed, out-of-range and unknown keys are named; the page still trains', { timeout: 90_000 }, async () => {
  const page = await open(browser.context, server, '/?toy=grokking&p=abc&weight_decay=99&zzz=1&backend=cpu');
  const s = await waitState(page, 'an error message', (x) => x.error !== '', { timeout: 60_000 });
  for (const key of ['p', 'weight_decay', 'zzz']) {
    assert.match(s.error, new RegExp(`\\b${key}\\b`), `the error does not name ${key}: "${s.error}"`);
  }
  // Each bad field fell back to a valid value (its default), not the link's.
  const p = await paramValue(page, 'p');
  const wd = await paramValue(page, 'weight_decay');
  assert.match(p, /^\d+$/, `p shows "${p}"`);
  assert.ok(Number(wd) >= 0 && Number(wd) <= 10 && Number(wd) !== 99, `weight_decay shows "${wd}"`);

  await page.click(tid('play'));
  const t = await waitState(page, 'training after a bad link', (x) => stepOf(x) > 0, { timeout: 60_000 });
  assert.equal(t.backend, 'cpu');
  console.log(`bad keys: "${s.error}"`);
});

test('an unknown toy is named and the page falls back to grokking', { timeout: 60_000 }, async () => {
  const page = await open(browser.context, server, '/?toy=nope');
  const s = await waitState(page, 'an error message', (x) => x.error !== '' && x.backend !== '', { timeout: 60_000 });
  assert.match(s.error, /nope/, `the error does not name the toy: "${s.error}"`);
  assert.ok(await page.$('[data-param="p"]'), `no grokking controls after the fallback\n  ${await pageState(page)}`);
  console.log(`unknown toy: "${s.error}"`);
});

test('an unknown link version is refused with a clear message', { timeout: 60_000 }, async () => {
  const page = await open(browser.context, server, '/?toy=grokking&v=9&p=23');
  const s = await waitState(page, 'an error message', (x) => x.error !== '', { timeout: 60_000 });
  assert.match(s.error, /\bv\b|version/i, `the error does not mention the version: "${s.error}"`);
  assert.match(s.error, /9/, `the error does not name the version 9: "${s.error}"`);
  console.log(`v=9: "${s.error}"`);
});

test('HTML in a link is shown as text, never inserted', { timeout: 60_000 }, async () => {
  const payload = '<img src=x onerror=alert(1)>';
  const links = [
    `/?toy=grokking&p=${encodeURIComponent(payload)}`,
    `/?toy=grokking&${encodeURIComponent(payload)}=1`,
    `/?toy=${encodeURIComponent(payload)}`,
    `/?toy=grokking&seed=${encodeURIComponent(payload)}&hide=${encodeURIComponent(payload)}`,
  ];
  for (const link of links) {
    const page = await open(browser.context, server, link);
    await loaded(page);
    await page.waitForTimeout(300);
    const found = await page.evaluate(() => ({
      imgs: [...document.querySelectorAll('img')].map((i) => i.outerHTML),
      alerts: window.__alerts,
    }));
    const s = await snapshot(page);
    assert.deepEqual(found.imgs.filter((h) => /src="?x"?/.test(h) || /onerror/.test(h)), [], `an <img> from the link was inserted by ${link}`);
    assert.deepEqual(found.alerts, [], `alert() ran for ${link}`);
    assert.ok(!page.ptLog.some((l) => l.startsWith('dialog')), `a dialog opened for ${link}`);
    console.log(`${link} → error "${s.error}"`);
    await page.close();
  }
});
