// The share round trip: a link with a seed and non-default keys reproduces, in the browser on
// the CPU backend, exactly the digest the CLI prints for the same config and steps. The share
// button then writes a link with only the non-default keys, and that link reproduces it again.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cliRun, launch, open, pageState, paramValue, snapshot, startSite, stepOf, tid, waitState } from './helpers.mjs';

const LINK = '/?toy=grokking&v=1&seed=7&backend=cpu&weight_decay=0.3&p=23&steps=30&autoplay=1';
const CLI_ARGS = ['--seed', '7', '--set', 'weight_decay=0.3', '--set', 'p=23', '--steps', '30'];

let server, browser, cli;
before(async () => {
  cli = cliRun('grokking', CLI_ARGS);
  server = await startSite();
  browser = await launch({ webgpu: false });
  await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url.replace(/\/$/, '') });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** Waits for the run to reach `steps` and stop there; returns the final state. */
async function runToEnd(page, steps) {
  const done = await waitState(
    page,
    `step ${steps} with a digest`,
    (s) => (stepOf(s) >= steps && s.phase === 'done' && /^[0-9a-f]{16}$/.test(s.digest)) || s.phase === 'failed',
    { timeout: 90_000 },
  );
  assert.equal(stepOf(done), steps, `the run went past its target of ${steps} steps\n  ${await pageState(page)}`);
  await page.waitForTimeout(1500);
  const still = await snapshot(page);
  assert.equal(stepOf(still), steps, `the run did not stop at ${steps} steps\n  ${await pageState(page)}`);
  assert.equal(still.digest, done.digest, 'the digest changed after the run stopped');
  return still;
}

test('a share link reproduces the CLI digest', { timeout: 150_000 }, async () => {
  assert.match(cli.digest, /^[0-9a-f]{16}$/, `CLI digest: ${JSON.stringify(cli)}`);
  assert.equal(cli.steps, 30);

  const page = await open(browser.context, server, LINK);
  const end = await runToEnd(page, 30);
  assert.equal(end.backend, 'cpu');
  assert.equal(end.error, '', `the page shows an error for a valid link\n  ${await pageState(page)}`);
  assert.equal(end.digest, cli.digest, `browser digest ${end.digest} != CLI digest ${cli.digest} (papertoys run grokking ${CLI_ARGS.join(' ')})`);
  console.log(`digest: browser ${end.digest} = CLI ${cli.digest}`);

  // The controls show the link's values.
  assert.equal(await paramValue(page, 'p'), '23');
  assert.equal(Number(await paramValue(page, 'weight_decay')), 0.3);
  assert.equal(await paramValue(page, 'seed'), '7');

  // Share: the link holds the toy, version, seed and only the non-default keys.
  await page.click(tid('share'));
  const s = await waitState(page, 'the share link', (x) => x.shareLink.includes('toy='), { timeout: 10_000 });
  const url = new URL(s.shareLink, server.url);
  const q = url.searchParams;
  assert.equal(q.get('toy'), 'grokking', s.shareLink);
  assert.equal(q.get('v'), '1', s.shareLink);
  assert.equal(q.get('seed'), '7', s.shareLink);
  assert.equal(q.get('p'), '23', s.shareLink);
  assert.equal(Number(q.get('weight_decay')), 0.3, s.shareLink);
  for (const part of ['toy=grokking', 'v=1', 'seed=7', 'p=23', 'weight_decay=0.3']) assert.ok(s.shareLink.includes(part), `share link lacks ${part}: ${s.shareLink}`);
  for (const key of ['lr', 'd_model', 'batch_size', 'train_fraction', 'heads', 'layers', 'op']) {
    assert.ok(!q.has(key), `the share link has the default key ${key}: ${s.shareLink}`);
  }
  console.log(`share link: ${s.shareLink}`);

  // "Copy link" puts exactly that link on the clipboard.
  await page.click(tid('copy-link'));
  const clip = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(clip, s.shareLink, 'the clipboard does not hold the share link after "Copy link"');

  // The share dialog offers an iframe snippet for embedding.
  const snippet = await page.$eval(tid('embed-snippet'), (el) => (el.value ?? el.textContent ?? '').trim());
  assert.match(snippet, /<iframe[^>]*src="[^"]*embed=1/, `embed snippet: ${snippet}`);

  // Round trip: open the shared link and run it to the same step count; same digest.
  q.set('autoplay', '1');
  if (!q.has('steps')) q.set('steps', '30');
  if (!q.has('backend')) q.set('backend', 'cpu');
  const again = await open(browser.context, server, `${url.pathname}?${q}`);
  const end2 = await runToEnd(again, 30);
  assert.equal(end2.digest, cli.digest, `the shared link ${url.pathname}?${q} gave digest ${end2.digest}, not ${cli.digest}`);
});
