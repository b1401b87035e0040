// The visitor's own page (/t/<secret>) in headless chromium, on a phone's
// screen, against a kolappd that tests/browser/run started, office
// "brwk" (see kiosk.test.mjs). Env: KOLAPP_HTTP_URL, KOLAPP_KIOSKV_KIOSK,
// KOLAPP_KIOSKV_COUNTER, KOLAPP_CHROMIUM, KOLAPP_SHOT_DIR (visitor.png).
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
const KIOSK = env('KOLAPP_KIOSKV_KIOSK');
const COUNTER = env('KOLAPP_KIOSKV_COUNTER');
const BOOKING = env('KOLAPP_KIOSKV_BOOKING');
const SHOTS = process.env.KOLAPP_SHOT_DIR || path.dirname(new URL(import.meta.url).pathname);

async function op(token, obj) {
  const r = await fetch(`${HTTP}/api/op`, {
    method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: JSON.stringify(obj)
  });
  return r.json();
}
async function ok(token, obj) {
  const j = await op(token, obj);
  assert.equal(j.ok, true, `${obj.op}: ${JSON.stringify(j)}`);
  return j;
}

let context, page, userDataDir;
const pageErrors = [];
const status = () => page.locator('#status').textContent();

before(async () => {
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kolapp-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.KOLAPP_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 390, height: 844 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = context.pages()[0] || await context.newPage();
  page.on('pageerror', e => pageErrors.push(e.message));
  await op(COUNTER, { op: 'counter_open' });
  // Counter 1 starts with nothing waiting in S or F: what other tests
  // left is called and finished first.
  for (;;) {
    const r = await ok(COUNTER, { op: 'call_next' });
    if (!r.ticket) break;
  }
  await op(COUNTER, { op: 'finish' });
});

after(async () => {
  await context?.close();
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
});

test('the page follows its ticket live, and calls the visitor within a second', async () => {
  const ahead = (await ok(KIOSK, { op: 'issue', queue: 'S' })).ticket.code;
  const mine = await ok(KIOSK, { op: 'issue', queue: 'S', lang: 'so', interpreter: 'so' });
  const url = HTTP + mine.visitor_path;
  await page.goto(url);
  await page.waitForFunction(() => window.kolappVisitor && window.kolappVisitor.ticket, null, { timeout: 5000 });
  // In the ticket's language, with its place and the Somali queue name.
  assert.equal(await page.locator('#code').textContent(), mine.ticket.code);
  assert.equal(await page.locator('#queue').textContent(), "Hay'adda Canshuuraha");
  assert.equal(await status(), 'Kaalintaada safka: 2');
  assert.match(await page.locator('#detail').textContent(), /Turjubaan: Soomaali/);
  // Nothing of the ticket ahead anywhere in the page.
  assert.ok(!(await page.content()).includes(ahead));
  await page.screenshot({ path: path.join(SHOTS, 'visitor.png') });
  // The ticket ahead is called: the place changes without a reload.
  const updates = await page.evaluate(() => window.kolappVisitor.updates);
  await ok(COUNTER, { op: 'call_next' });
  await page.waitForFunction(() => document.getElementById('status').textContent === 'Adiga ayaa xiga', null, { timeout: 3000 });
  assert.ok(await page.evaluate(() => window.kolappVisitor.updates) > updates);
  assert.ok(!(await page.content()).includes(ahead));
  // Its own call: "go to counter 1" over the whole screen within a second.
  const t0 = Date.now();
  const called = await ok(COUNTER, { op: 'call_next' });
  assert.equal(called.ticket.code, mine.ticket.code);
  await page.waitForFunction(() => !document.getElementById('called').hidden, null, { timeout: 1000 });
  const took = Date.now() - t0;
  console.log(`visitor page: "go to counter" shown ${took} ms after call_next was sent`);
  assert.ok(took < 1000, `shown after ${took} ms`);
  assert.equal(await page.locator('#called-text').textContent(), 'Tag shubaakka 1');
  const box = await page.locator('#called').boundingBox();
  assert.ok(box.width >= 389 && box.height >= 843, 'the call fills the screen');
  await page.screenshot({ path: path.join(SHOTS, 'visitor-called.png') });
  // Switched to English by the visitor.
  await page.selectOption('#lang', 'en');
  assert.equal(await page.locator('#called-text').textContent(), 'Go to counter 1');
  // After the visit: thanks, and one rating.
  await ok(COUNTER, { op: 'finish' });
  await page.waitForFunction(() => !document.getElementById('rate').hidden, null, { timeout: 3000 });
  assert.equal(await status(), 'Thank you for your visit!');
  await page.click('#stars button[data-rating="5"]');
  await page.waitForFunction(() => !document.getElementById('rated').hidden, null, { timeout: 3000 });
  const again = await fetch(url + '/rating', { method: 'POST', body: '{"rating":1}' });
  assert.equal(again.status, 409);
  assert.deepEqual(pageErrors, []);
});

test('without an event stream the page polls, no faster than every 5 s', async () => {
  const mine = await ok(KIOSK, { op: 'issue', queue: 'F', lang: 'en' });
  const p = await context.newPage();
  const polls = [];
  try {
    // A browser without EventSource (or a proxy that breaks streams).
    // The times are taken in the page when it calls fetch: the test
    // process sees requests late by a varying delay, which made a 5 s
    // interval look like 4.9 s.
    await p.addInitScript(() => {
      delete window.EventSource;
      window.kolappPolls = [];
      const realFetch = window.fetch.bind(window);
      window.fetch = (input, init) => {
        if (String(input).endsWith('/ticket')) window.kolappPolls.push(performance.now());
        return realFetch(input, init);
      };
    });
    await p.goto(HTTP + mine.visitor_path);
    await p.waitForFunction(() => window.kolappVisitor && window.kolappVisitor.ticket, null, { timeout: 5000 });
    assert.equal(await p.locator('#status').textContent(), 'You are next');
    const called = await ok(COUNTER, { op: 'call_next' });
    assert.equal(called.ticket.code, mine.ticket.code);
    await p.waitForFunction(() => !document.getElementById('called').hidden, null, { timeout: 8000 });
    assert.equal(await p.locator('#called-text').textContent(), 'Go to counter 1');
    polls.push(...await p.evaluate(() => window.kolappPolls));
    assert.ok(polls.length >= 2, `${polls.length} polls`);
    for (let i = 1; i < polls.length; i++)
      assert.ok(polls[i] - polls[i - 1] >= 4990, `polled again after ${Math.round(polls[i] - polls[i - 1])} ms`);
    await ok(COUNTER, { op: 'finish' });
  } finally {
    await p.close();
  }
});

test('a wrong secret is a plain 404, and the page says nothing', async () => {
  const r = await page.goto(`${HTTP}/t/${'A'.repeat(32)}`);
  assert.equal(r.status(), 404);
});

test('a booked visitor checked in at the kiosk sees the appointment, not a place in line', async () => {
  // In 25 minutes: inside the check-in window, never due while the tests run.
  const starts = new Date(Date.now() + 25 * 60 * 1000).toISOString();
  const b = await ok(BOOKING, { op: 'book', queue: 'F', starts_at: starts, minutes: 15 });
  const r = await ok(KIOSK, { op: 'check_in', booking: b.booking.code });
  assert.ok(r.visitor_path, `check_in answers no visitor_path: ${JSON.stringify(r)}`);
  await page.goto(HTTP + r.visitor_path);
  await page.waitForFunction(() => window.kolappVisitor && window.kolappVisitor.ticket, null, { timeout: 5000 });
  const mm = String(new Date(starts).getMinutes()).padStart(2, '0');
  const text = await status();
  assert.match(text, /^(Din tid är kl\.|Your appointment is at) /);
  assert.ok(new RegExp(`\\d[:.]${mm}\\b`).test(text), `${text} lacks the minute ${mm}`);
  assert.equal(pageErrors.length, 0, pageErrors.join('; '));
});
