// The clerk's counter page in headless chromium, against a kolappd that
// tests/browser/run started (this script starts nothing itself). The page
// is counter "5" (queues K, M; K has two outcomes); counter "6" is another
// clerk, driven over POST /api/op like the kiosk.
// Env: KOLAPP_HTTP_URL, KOLAPP_KIOSK_TOKEN, KOLAPP_CLERK_TOKEN (counter 5),
// KOLAPP_CLERK2_TOKEN (counter 6), KOLAPP_ADMIN_TOKEN, KOLAPP_DISPLAY_TOKEN, KOLAPP_PID_FILE,
// (KOLAPP_RESTART_FIFO: a line there asks the runner to start kolappd again), KOLAPP_CHROMIUM,
// KOLAPP_COUNTER_SCREENSHOT.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const env = name => {
  const v = process.env[name];
  assert.ok(v, `${name} is not set`);
  return v;
};
const HTTP = env('KOLAPP_HTTP_URL');
const KIOSK = env('KOLAPP_KIOSK_TOKEN');
const CLERK = env('KOLAPP_CLERK_TOKEN');
const CLERK2 = env('KOLAPP_CLERK2_TOKEN');
const ADMIN = env('KOLAPP_ADMIN_TOKEN');
const DISPLAY = env('KOLAPP_DISPLAY_TOKEN');

// ---- the protocol over POST /api/op ----------------------------------------
async function op(token, obj) {
  const r = await fetch(`${HTTP}/api/op`, {
    method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: JSON.stringify(obj)
  });
  assert.equal(r.status, 200, `${obj.op}: HTTP ${r.status}`);
  return r.json();
}
async function ok(token, obj) {
  const r = await op(token, obj);
  assert.equal(r.ok, true, `${obj.op}: ${JSON.stringify(r)}`);
  return r;
}
const issue = (queue, extra) => ok(KIOSK, Object.assign({ op: 'issue', queue }, extra || {}));

let context, page, userDataDir;
const pageErrors = [];
const pageUrl = lang => `${HTTP}/counter?token=${encodeURIComponent(CLERK)}&lang=${lang}`;
const text = sel => page.locator(sel).textContent();
const held = () => text('#held-code');
const waitHeld = code => page.waitForFunction(c => document.getElementById('held-code').textContent === c,
  code, { timeout: 3000 });
/* The reply's message, waited for: the event stream may update the
 * held ticket before the reply to the clerk's own request is shown. */
const waitMessage = want => page.waitForFunction(w => document.getElementById('message').textContent === w,
  want, { timeout: 3000 });
const message = () => page.evaluate(() => {
  const m = document.getElementById('message');
  return { text: m.textContent, error: m.classList.contains('error') };
});

async function ready(p) {
  await p.waitForFunction(() => window.kolappCounter && window.kolappCounter.loaded &&
    window.kolappCounter.connected && !window.kolappCounter.busy, null, { timeout: 10000 });
}

before(async () => {
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kolapp-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.KOLAPP_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = context.pages()[0] || await context.newPage();
  page.on('pageerror', e => pageErrors.push(e.message));
  await page.goto(pageUrl('sv'));
  await ready(page);
});

after(async () => {
  await context?.close();
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
});

test('the page knows its counter, and opens it with its key', async () => {
  assert.equal(await text('#counter-name'), 'Lucka 5');
  assert.equal(await held(), 'Inget nummer');
  // Every action's key is shown on its button.
  const keys = await page.$$eval('.actions [data-key]', bs => bs.map(b => [b.dataset.op, b.querySelector('kbd').textContent]));
  assert.deepEqual(Object.fromEntries(keys),
    { call_next: 'N', recall: 'R', start: 'S', finish: 'F', no_show: 'X', park: 'P', transfer: 'T' });
  if ((await text('#open-state')) !== 'Öppen') {
    await page.keyboard.press('o');
    await page.waitForFunction(() => document.getElementById('open-state').textContent === 'Öppen', null, { timeout: 3000 });
  }
  assert.equal((await message()).error, false);
});

test('call next (N) shows the ticket large, its priority, interpreter and the reason', async () => {
  await issue('K');
  const pri = (await issue('K', { priority: true, interpreter: 'so' })).ticket.code;
  // The queue's count follows the issues.
  await page.waitForFunction(() => /^2 väntar · 1 med förtur/.test(
    document.querySelector('#queues li[data-queue="K"] .qcount')?.textContent || ''), null, { timeout: 3000 });
  await page.keyboard.press('n');
  await waitHeld(pri);
  assert.equal(await text('#held-state'), 'uppropad');
  assert.match(await text('#held-queue'), /^K · Kommunen/);
  const facts = await page.locator('#held-facts li').allTextContents();
  assert.ok(facts.includes('förtur'), facts.join(' | '));
  assert.ok(facts.some(f => /^tolk: .*\(so\)$/.test(f)), facts.join(' | '));
  assert.match(await text('#held-reason'), /^Valdes: rank 1, priority/);
  await waitMessage(`${pri} uppropad`);
  const t = await ok(KIOSK, { op: 'ticket', ticket: pri });
  assert.equal(t.ticket.state, 'called');
  assert.equal(t.ticket.counter, '5');
});

test('recall (R), start (S), and transfer (T) to a queue', async () => {
  const code = await held();
  await page.keyboard.press('r');
  await page.waitForFunction(() => [...document.querySelectorAll('#held-facts li')].some(l => l.textContent === 'ropad 2 gånger'),
    null, { timeout: 3000 });
  await page.keyboard.press('s');
  await page.waitForFunction(() => document.getElementById('held-state').textContent === 'betjänas', null, { timeout: 3000 });
  await page.keyboard.press('t');
  await page.waitForSelector('#transfer-dialog[open]');
  const choices = await page.locator('#transfer-queues .choice').allTextContents();
  const m = choices.findIndex(c => c.startsWith('M '));
  assert.ok(m >= 0, choices.join(' | '));
  await page.keyboard.press(String(m + 1));
  await waitHeld('Inget nummer');
  await waitMessage(`${code} flyttad till M`);
  const t = await ok(KIOSK, { op: 'ticket', ticket: code });
  assert.equal(t.ticket.queue, 'M');
  assert.equal(t.ticket.state, 'waiting');
});

test('park (P), then call back from the parked list', async () => {
  await page.click('#do-call-next');
  await page.waitForFunction(() => /^[KM]-\d+$/.test(document.getElementById('held-code').textContent), null, { timeout: 3000 });
  const code = await held();
  await page.keyboard.press('p');
  await waitHeld('Inget nummer');
  await waitMessage(`${code} parkerad`);
  const li = page.locator(`#parked li[data-ticket="${code}"]`);
  await li.waitFor({ timeout: 3000 });
  assert.equal((await ok(KIOSK, { op: 'ticket', ticket: code })).ticket.state, 'parked');
  await li.locator('button').click();
  await waitHeld(code);
  assert.equal(await text('#held-state'), 'uppropad');
  await page.waitForFunction(c => !document.querySelector(`#parked li[data-ticket="${c}"]`), code, { timeout: 3000 });
});

test('finish (F) with an outcome picked in the panel', async () => {
  // The held ticket is from K or M; make it one of K, which has outcomes.
  let code = await held();
  if (!code.startsWith('K-')) {
    const k = (await issue('K')).ticket.code;
    await page.fill('#code', k);
    await page.press('#code', 'Enter');
    await waitHeld(k);
    code = k;
  }
  await page.keyboard.press('f');
  await page.waitForSelector('#outcome-dialog[open]');
  const outcomes = await page.locator('#outcomes .choice').allTextContents();
  assert.deepEqual(outcomes.map(o => o.replace(/\d$/, '')), ['Rådgivning (advice)', 'Blankett ifylld (form)']);
  await page.keyboard.press('2');
  await waitHeld('Inget nummer');
  await waitMessage(`${code} avslutad`);
  const t = await ok(KIOSK, { op: 'ticket', ticket: code });
  assert.equal(t.ticket.state, 'done');
  assert.equal(t.ticket.outcome, 'form');
});

test('an error in words when another counter took the ticket', async () => {
  const code = (await issue('M')).ticket.code;
  await ok(CLERK2, { op: 'counter_open' });
  await ok(CLERK2, { op: 'call', ticket: code });
  await page.fill('#code', code.toLowerCase());
  await page.click('#do-call');
  await page.waitForFunction(() => document.getElementById('message').classList.contains('error'), null, { timeout: 3000 });
  const m = await message();
  assert.equal(m.text, `Gick inte: ticket ${code} is called, not waiting or parked`);
  assert.equal(await page.locator('#message').getAttribute('role'), 'alert');
  assert.equal(await held(), 'Inget nummer');
  // The other counter keeps it.
  assert.equal((await ok(KIOSK, { op: 'ticket', ticket: code })).ticket.counter, '6');
  await ok(CLERK2, { op: 'finish' });
});

test('no-show (X), and reactivate by code', async () => {
  const code = (await issue('M')).ticket.code;
  await page.fill('#code', code);
  await page.press('#code', 'Enter');
  await waitHeld(code);
  // The field is emptied and let go: the next key is a shortcut.
  assert.equal(await page.inputValue('#code'), '');
  await page.keyboard.press('x');
  await waitHeld('Inget nummer');
  await waitMessage(`${code} uteblev`);
  await page.fill('#code', code);
  await page.click('#do-reactivate');
  await page.waitForFunction(c => document.getElementById('message').textContent === `${c} väntar igen`, code, { timeout: 3000 });
  assert.equal((await ok(KIOSK, { op: 'ticket', ticket: code })).ticket.state, 'waiting');
  // A key typed in the field is not an action.
  await page.fill('#code', '');
  await page.focus('#code');
  await page.keyboard.press('n');
  assert.equal(await held(), 'Inget nummer');
  await page.evaluate(() => document.activeElement.blur());
});

test('the database lost (stale status) is shown, and clears by itself', async () => {
  // The path alone: the page sends its token in the query.
  const isStatus = url => url.pathname === '/api/status';
  await page.route(isStatus, async route => {
    const r = await route.fetch();
    const s = await r.json();
    s.stale = true;
    await route.fulfill({ response: r, json: s });
  });
  await ok(KIOSK, { op: 'issue', queue: 'K' });   // an event: the page asks for the status
  await page.waitForSelector('#stale', { state: 'visible', timeout: 5000 });
  assert.match(await text('#stale'), /Databasen/);
  // Waits for a handler still at work, whose fulfill would otherwise
  // come after the route is gone (an unhandled rejection).
  await page.unrouteAll({ behavior: 'wait' });
  // No event needed: the page asks again every few seconds while stale.
  await page.waitForSelector('#stale', { state: 'hidden', timeout: 5000 });
});

async function checkLayout(p, w, h) {
  await p.setViewportSize({ width: w, height: h });
  await p.waitForTimeout(100);
  const r = await p.evaluate(() => {
    const out = [...document.querySelectorAll('body *')].filter(e => {
      /* A list scrolls inside its box: the box is what must fit. */
      if (e.closest('dialog') || e.closest('[hidden]') || e.closest('.list li')) return false;
      const b = e.getBoundingClientRect();
      return b.width > 0 && b.height > 0 &&
        (b.left < -0.5 || b.top < -0.5 || b.right > innerWidth + 0.5 || b.bottom > innerHeight + 0.5);
    }).map(e => `${e.tagName.toLowerCase()}#${e.id}.${e.className}`);
    // Text cut off inside its box (scrolling lists excepted).
    const clipped = [...document.querySelectorAll('.btn, .held-code, h1, h2')].filter(e =>
      e.offsetParent && (e.scrollWidth > e.clientWidth + 1)).map(e => e.id || e.textContent);
    const de = document.documentElement;
    return { out, clipped, sw: de.scrollWidth, sh: de.scrollHeight, iw: innerWidth, ih: innerHeight };
  });
  assert.deepEqual(r.out, [], `${w}×${h}: outside the viewport: ${r.out.join(', ')}`);
  assert.deepEqual(r.clipped, [], `${w}×${h}: cut off: ${r.clipped.join(', ')}`);
  assert.ok(r.sw <= r.iw && r.sh <= r.ih, `${w}×${h}: the page overflows: ${JSON.stringify(r)}`);
}

test('the layout fits 1280×800, 1024×768 and a tablet upright; screenshot', async () => {
  // Something to show: a parked ticket, people waiting, an interpreter.
  const parked = (await issue('K')).ticket.code;
  await page.fill('#code', parked);
  await page.press('#code', 'Enter');
  await waitHeld(parked);
  await page.keyboard.press('p');
  await waitHeld('Inget nummer');
  await issue('M');
  const shown = (await issue('K', { priority: true, interpreter: 'ti', lang: 'ti' })).ticket.code;
  await issue('K');
  await page.keyboard.press('n');
  await waitHeld(shown);
  for (const [w, h] of [[1024, 768], [768, 1024], [1280, 800]])
    await checkLayout(page, w, h);
  // The dialogs fit too.
  await page.keyboard.press('t');
  await page.waitForSelector('#transfer-dialog[open]');
  const box = await page.locator('#transfer-dialog').boundingBox();
  assert.ok(box.y >= 0 && box.y + box.height <= 800 && box.x >= 0 && box.x + box.width <= 1280, JSON.stringify(box));
  await page.keyboard.press('Escape');
  await page.waitForSelector('#transfer-dialog', { state: 'hidden' });
  await page.evaluate(() => document.activeElement.blur());
  await page.mouse.move(640, 40);   /* no button under the pointer */
  const shot = process.env.KOLAPP_COUNTER_SCREENSHOT;
  if (shot) {
    await page.screenshot({ path: shot });
    assert.ok(fs.statSync(shot).size > 10000, 'screenshot is too small');
  }
});

test('English', async () => {
  const en = await context.newPage();
  try {
    await en.goto(pageUrl('en'));
    await ready(en);
    assert.equal(await en.locator('#counter-name').textContent(), 'Counter 5');
    assert.equal(await en.locator('#do-call-next .label').textContent(), 'Next');
    assert.equal(await en.locator('html').getAttribute('lang'), 'en');
    await checkLayout(en, 1024, 768);
  } finally {
    await en.close();
  }
});

test('an admin names the counter; a display token is told the page is not for it', async () => {
  const p = await context.newPage();
  try {
    await p.goto(`${HTTP}/counter?token=${encodeURIComponent(ADMIN)}&counter=6&lang=sv`);
    await ready(p);
    assert.equal(await p.locator('#counter-name').textContent(), 'Lucka 6');
    // Its ops act on counter 6.
    const code = (await issue('M')).ticket.code;
    await p.fill('#code', code);
    await p.press('#code', 'Enter');
    await p.waitForFunction(c => document.getElementById('held-code').textContent === c, code, { timeout: 3000 });
    assert.equal((await ok(KIOSK, { op: 'ticket', ticket: code })).ticket.counter, '6');
    await p.click('#do-finish');
    await p.waitForFunction(() => document.getElementById('held-code').textContent === 'Inget nummer', null, { timeout: 3000 });
    await p.goto(`${HTTP}/counter?token=${encodeURIComponent(DISPLAY)}&lang=sv`);
    await p.waitForSelector('#fatal', { state: 'visible', timeout: 5000 });
    assert.match(await p.locator('#fatal').textContent(), /hör inte till en lucka/);
    assert.equal(await p.locator('#do-call-next').isDisabled(), true);
  } finally {
    await p.close();
  }
});

test('the page shows offline while kolappd is stopped, and recovers by itself', async () => {
  const pid = Number(fs.readFileSync(env('KOLAPP_PID_FILE'), 'utf8'));
  assert.equal(await page.locator('#offline').isVisible(), false);
  const before = await held();
  process.kill(pid, 'SIGTERM');
  await page.waitForSelector('#offline', { state: 'visible', timeout: 10000 });
  assert.match(await text('#offline'), /Ingen anslutning/);
  // An action meanwhile says so in words.
  await page.click('#do-recall');
  await page.waitForFunction(() => document.getElementById('message').classList.contains('error'), null, { timeout: 5000 });
  assert.match((await message()).text, /Ingen kontakt med servern/);
  fs.writeFileSync(env('KOLAPP_RESTART_FIFO'), 'restart\n');
  await page.waitForSelector('#offline', { state: 'hidden', timeout: 20000 });
  // Back with the same picture, and live: the next call works.
  await ready(page);
  assert.equal(await held(), before);
  const next = (await ok(KIOSK, { op: 'ticket', ticket: before })).ticket;
  assert.equal(next.state, 'called');
  await page.keyboard.press('f');
  await page.waitForSelector('#outcome-dialog[open]');
  await page.click('#outcome-none');
  await waitHeld('Inget nummer');
  assert.equal((await ok(KIOSK, { op: 'ticket', ticket: before })).ticket.state, 'done');
  assert.deepEqual(pageErrors, []);
});
