// Hand-edited links: unknown keys, malformed and out-of-range values, an unknown toy and an
// unknown link version each show a clear message naming the culprit, fall back to defaults,
// and leave a working page. Nothing from the link is inserted as HTML. A bad value typed in a
// control is named under it and leaves the run on screen as it was.

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

test('a refused control value keeps the run on screen; an accepted one starts a new run', { timeout: 90_000 }, async () => {
  const page = await open(browser.context, server, '/?toy=grokking&backend=cpu&p=23&d_model=32&eval_every=5&steps=20&autoplay=1');
  const done = await waitState(page, 'the run to finish', (s) => s.phase === 'done' || s.error !== '', { timeout: 60_000 });
  assert.equal(done.error, '', `the page shows an error\n  ${await pageState(page)}`);
  const message = () => page.$eval('[data-param="p"] .control-msg', (m) => (m.hidden ? '' : (m.textContent ?? '')));
  /** Types `text` into p's box; resolves to the message the answer puts under it (Enter clears the old one). */
  const typeP = async (text) => {
    await page.fill('#ctl-p-value', text);
    await page.press('#ctl-p-value', 'Enter');
    await page.waitForFunction(() => !document.querySelector('[data-param="p"] .control-msg').hidden, null, { timeout: 30_000 });
    return message();
  };
  // p = 24 is not prime: it snaps back to 23, the nearest prime, which is the run on screen.
  for (const [text, said] of [['24', /not prime.*using 23/], ['abc', /p = abc is not an integer.*kept 23/], ['999', /999 is out of range.*kept 23/]]) {
    assert.match(await typeP(text), said, `the message under p for ${text}`);
    await page.waitForTimeout(300);
    const s = await snapshot(page);
    assert.deepEqual([stepOf(s), s.digest, s.accPoints, s.phase], [20, done.digest, done.accPoints, 'done'], `p = ${text} changed the run on screen\n  ${await pageState(page)}`);
    assert.equal(await paramValue(page, 'p'), '23');
  }
  // p = 29 is a new run: from step 0, its charts empty.
  await page.fill('#ctl-p-value', '29');
  await page.press('#ctl-p-value', 'Enter');
  const fresh = await waitState(page, 'a new run for p = 29', (s) => stepOf(s) === 0 && s.phase === 'ready', { timeout: 30_000 });
  assert.equal(fresh.accPoints, 0, `the new run's chart still shows the old run's points\n  ${await pageState(page)}`);
  assert.equal(await message(), '');
});
