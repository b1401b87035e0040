// The visitors' kiosk in headless chromium, against a kolappd that
// tests/browser/run started (this script starts nothing itself), on its
// own office "brwk": queues S (with Somali texts), F, X (closed) and Y (outside its ticket hours);
// counter 1 serves S and F.
// Env: KOLAPP_HTTP_URL, KOLAPP_KIOSKV_KIOSK, KOLAPP_KIOSKV_COUNTER,
// KOLAPP_CHROMIUM, KOLAPP_SHOT_DIR (screenshots: kiosk.png, receipt.png;
// default: this folder).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
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
const KIOSK = env('KOLAPP_KIOSKV_KIOSK');
const COUNTER = env('KOLAPP_KIOSKV_COUNTER');
const SHOTS = process.env.KOLAPP_SHOT_DIR || path.dirname(new URL(import.meta.url).pathname);

async function ok(token, obj) {
  const r = await fetch(`${HTTP}/api/op`, {
    method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: JSON.stringify(obj)
  });
  assert.equal(r.status, 200, `${obj.op}: HTTP ${r.status}`);
  const j = await r.json();
  assert.equal(j.ok, true, `${obj.op}: ${JSON.stringify(j)}`);
  return j;
}
async function waiting(queue) {
  const r = await fetch(`${HTTP}/api/status`, { headers: { Authorization: `Bearer ${KIOSK}` } });
  return (await r.json()).queues.find(q => q.code === queue).waiting;
}

let context, page, userDataDir, tmp;
const pageErrors = [];
const kioskUrl = extra => `${HTTP}/kiosk?token=${encodeURIComponent(KIOSK)}&print=0${extra || ''}`;
const screen = () => page.evaluate(() => window.kolappKiosk.screen);
const waitScreen = (s, timeout) => page.waitForFunction(w => window.kolappKiosk && window.kolappKiosk.loaded &&
  window.kolappKiosk.screen === w, s, { timeout: timeout || 5000 });

before(async () => {
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kolapp-chromium-'));
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kolapp-kiosk-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.KOLAPP_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1080, height: 1920 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = context.pages()[0] || await context.newPage();
  page.on('pageerror', e => pageErrors.push(e.message));
  const open = await ok(COUNTER, { op: 'counter_open' }).catch(() => null);
  assert.ok(open === null || open.ok);
});

after(async () => {
  await context?.close();
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('every language in its own script; right to left for Arabic and Persian', async () => {
  await page.goto(kioskUrl('&idle=60'));
  await waitScreen('lang');
  const names = await page.locator('#langs button').allTextContents();
  for (const n of ['Svenska', 'English', 'العربية', 'Soomaali', 'ትግርኛ', 'فارسی'])
    assert.ok(names.includes(n), names.join(' | '));
  await page.click('#langs button[data-lang="fa"]');
  await waitScreen('queue');
  assert.equal(await page.evaluate(() => document.documentElement.dir), 'rtl');
  assert.equal(await page.locator('#queue-title').textContent(), 'مراجعه شما درباره چیست؟');
  await page.click('#restart');
  await waitScreen('lang');
  assert.equal(await page.evaluate(() => document.documentElement.dir), 'ltr');
});

test('a visitor takes a ticket in Somali with an interpreter; receipt printed with its QR code', async () => {
  // Someone is ahead, so that the receipt has a place to show.
  await ok(KIOSK, { op: 'issue', queue: 'S' });
  await page.goto(kioskUrl('&idle=60'));
  await waitScreen('lang');
  await page.click('#langs button[data-lang="so"]');
  await waitScreen('queue');
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'so');
  // The queue's Somali name and description (kolapp.set_queue_text), and the closed one shown closed.
  const s = page.locator('#queues button[data-queue="S"]');
  await page.waitForFunction(() => document.querySelector('#queues button[data-queue="S"]'), null, { timeout: 5000 });
  assert.equal(await s.locator('.name').textContent(), "Hay'adda Canshuuraha");
  assert.equal(await s.locator('.desc').textContent(), 'Canshuuraha iyo diiwaangelinta dadweynaha');
  assert.match(await s.locator('.count').textContent(), /^\d+ ayaa sugaya/);
  const x = page.locator('#queues button[data-queue="X"]');
  assert.equal(await x.isDisabled(), true);
  assert.equal(await x.locator('.count').textContent(), 'Hadda waa xiran yahay');
  // Open, but outside its ticket hours: closed to the kiosk all the same.
  const y = page.locator('#queues button[data-queue="Y"]');
  assert.equal(await y.isDisabled(), true);
  assert.equal(await y.locator('.count').textContent(), 'Hadda waa xiran yahay');
  // Targets of at least 20 mm (96 px per inch: 75.6 px).
  const small = await page.$$eval('button:not([hidden])', bs => bs.filter(b => b.offsetParent)
    .map(b => b.getBoundingClientRect()).filter(r => r.height < 75).length);
  assert.equal(small, 0, 'buttons under 20 mm high');
  await page.screenshot({ path: path.join(SHOTS, 'kiosk.png') });
  await s.click();
  await waitScreen('interp');
  assert.equal(await page.locator('#btn-interp-yes').textContent(), 'Haa, turjubaan Soomaali');
  await page.click('#btn-interp-yes');
  await waitScreen('done');
  const st = await page.evaluate(() => window.kolappKiosk);
  assert.equal(st.ticket.lang, 'so');
  assert.equal(st.ticket.interpreter, 'so');
  assert.equal(st.ticket.position, (await ok(KIOSK, { op: 'ticket', ticket: st.ticket.code })).ticket.position);
  assert.match(st.visitorPath, /^\/t\/[A-Za-z0-9_-]{32}$/);
  // The receipt: the code, in Somali and in Swedish, the interpreter, the QR code.
  const receipt = page.locator('#receipt');
  const txt = await receipt.textContent();
  assert.ok(txt.includes(st.ticket.code), txt);
  assert.ok(txt.includes('Lambarkaaga') && txt.includes('Ditt nummer'), txt);
  assert.ok(txt.includes('Turjubaan: Soomaali') && txt.includes('Tolk: Soomaali'), txt);
  assert.ok(txt.includes(HTTP + st.visitorPath), txt);
  await page.waitForFunction(() => document.querySelector('#receipt img.r-qr')?.complete &&
    document.querySelector('#receipt img.r-qr').naturalWidth > 0, null, { timeout: 5000 });
  const png = path.join(SHOTS, 'receipt.png');
  await receipt.screenshot({ path: png });
  // zbarimg (zbar-tools) reads the QR code back from the rendering.
  const decoded = execFileSync('zbarimg', ['--raw', '-q', png]).toString().trim();
  assert.equal(decoded, HTTP + st.visitorPath);
  // Printed to PDF by chromium's print, with the receipt's own page size (80 mm).
  const pdf = await page.pdf({ preferCSSPageSize: true, printBackground: true });
  const head = pdf.subarray(0, 5).toString('latin1');
  assert.equal(head, '%PDF-');
  const body = pdf.toString('latin1');
  const pages = body.match(/\/Type\s*\/Page[^s]/g) || [];
  assert.equal(pages.length, 1, 'the receipt is one page');
  const box = /\/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]/.exec(body);
  assert.ok(box, 'no MediaBox');
  assert.ok(Math.abs(Number(box[1]) - 80 / 25.4 * 72) < 1.5, `page width ${box[1]} pt, not 80 mm`);
  fs.writeFileSync(path.join(tmp, 'receipt.pdf'), pdf);
  await page.click('#btn-done');
  await waitScreen('lang');
  assert.equal(await page.locator('#receipt').textContent(), '');
});

test('the 58 mm roll', async () => {
  await page.goto(kioskUrl('&idle=60&paper=58&lang=en'));
  await waitScreen('lang');
  await page.click('#langs button[data-lang="en"]');
  await page.click('#queues button[data-queue="F"]');
  await waitScreen('interp');
  await page.click('#btn-interp-no');
  await waitScreen('done');
  await page.waitForFunction(() => document.querySelector('#receipt img.r-qr')?.complete, null, { timeout: 5000 });
  const pdf = (await page.pdf({ preferCSSPageSize: true })).toString('latin1');
  assert.equal((pdf.match(/\/Type\s*\/Page[^s]/g) || []).length, 1, 'the receipt is one page');
  const box = /\/MediaBox\s*\[\s*0\s+0\s+([\d.]+)/.exec(pdf);
  assert.ok(box && Math.abs(Number(box[1]) - 58 / 25.4 * 72) < 1.5, `page width ${box && box[1]} pt, not 58 mm`);
  assert.equal(await page.evaluate(() => window.kolappKiosk.ticket.interpreter), undefined);
});

test('a double tap makes one ticket', async () => {
  await page.goto(kioskUrl('&idle=60'));
  await waitScreen('lang');
  await page.click('#langs button[data-lang="sv"]');
  await page.click('#queues button[data-queue="F"]');
  await waitScreen('interp');
  const before = await waiting('F');
  await page.dblclick('#btn-interp-no');
  await waitScreen('done');
  // Both taps (and a third that sends the same key from a fresh kiosk
  // script, as after a lost answer) are one ticket.
  const st = await page.evaluate(() => window.kolappKiosk);
  const again = await ok(KIOSK, { op: 'issue', queue: 'F', key: st.key, lang: 'sv' });
  assert.equal(again.ticket.code, st.ticket.code);
  assert.equal(again.visitor_path, st.visitorPath);
  assert.equal(await waiting('F'), before + 1);
  assert.equal(st.issued, 1);
});

test('after idle it goes back to the start and forgets the visitor', async () => {
  await page.goto(kioskUrl('&idle=2'));
  await waitScreen('lang');
  await page.click('#langs button[data-lang="ti"]');
  await page.click('#queues button[data-queue="F"]');
  await waitScreen('interp');
  /* The last touch: the idle time counts from here. */
  const t0 = Date.now();
  await page.click('#btn-interp-no');
  await page.waitForFunction(() => window.kolappKiosk.ticket, null, { timeout: 5000 });
  const code = await page.evaluate(() => window.kolappKiosk.ticket.code);
  await waitScreen('lang', 8000);
  const took = Date.now() - t0;
  assert.ok(took >= 1900, `reset ${took} ms after the last touch, before the idle time`);
  const st = await page.evaluate(() => window.kolappKiosk);
  assert.equal(st.ticket, null);
  assert.equal(st.lang, 'sv');
  assert.equal(await page.locator('#receipt').textContent(), '');
  assert.ok(!(await page.content()).includes(code), 'the last ticket is still in the page');
  // A half-finished choice is forgotten too.
  await page.click('#langs button[data-lang="ar"]');
  await waitScreen('queue');
  await waitScreen('lang', 6000);
  assert.equal(await page.evaluate(() => document.documentElement.dir), 'ltr');
});

test('I missed my call: reactivate with the code on the keypad', async () => {
  const t = (await ok(KIOSK, { op: 'issue', queue: 'F' })).ticket.code;
  // Call it and let it be a no-show at counter 1 (call_next may pick an
  // earlier F or S ticket: call it by code).
  await ok(COUNTER, { op: 'call', ticket: t });
  await ok(COUNTER, { op: 'no_show' });
  await page.goto(kioskUrl('&idle=60'));
  await waitScreen('lang');
  await page.click('#langs button[data-lang="en"]');
  await page.click('#btn-missed');
  await waitScreen('code');
  const [q, n] = t.split('-');
  for (const k of (q + String(Number(n))).split('')) await page.click(`#keypad button[data-key="${k}"]`);
  await page.click('#btn-send');
  await waitScreen('done');
  assert.equal(await page.evaluate(() => window.kolappKiosk.ticket.state), 'waiting');
  assert.equal((await ok(KIOSK, { op: 'ticket', ticket: t })).ticket.state, 'waiting');
});

test('I have an appointment: the booking alphabet, and the reply said in words', async () => {
  await page.goto(kioskUrl('&idle=60'));
  await waitScreen('lang');
  await page.click('#langs button[data-lang="en"]');
  await page.click('#btn-appointment');
  await waitScreen('code');
  const keys = await page.$$eval('#keypad button', bs => bs.map(b => b.dataset.key).join(''));
  assert.equal(keys, 'ABCDEFGHJKMNPQRSTUVWXYZ23456789');
  for (const k of 'ABCDEFGHJ') await page.click(`#keypad button[data-key="${k}"]`);
  assert.equal(await page.locator('#code-entry').textContent(), 'ABCDEFGH', 'at most 8 characters');
  await page.click('#btn-send');
  // Whatever the daemon says (no such booking, or an op it does not know
  // yet), the visitor reads it, and no ticket is shown.
  await page.waitForFunction(() => window.kolappKiosk.error, null, { timeout: 5000 });
  assert.equal(await screen(), 'code');
  assert.match(await page.locator('#message').textContent(), /^That did not work: ./);
  assert.deepEqual(pageErrors, []);
});
