// The display board in headless chromium, against a kolappd that
// tests/browser/run started (this script starts nothing itself).
// Env: KOLAPP_HTTP_URL, KOLAPP_TCP_PORT, KOLAPP_DISPLAY_TOKEN,
// KOLAPP_COUNTER_TOKEN (counter "3"), KOLAPP_KIOSK_TOKEN, KOLAPP_PID_FILE,
// KOLAPP_RESTART_FIFO (a line there asks the runner to start kolappd again),
// KOLAPP_CHROMIUM, KOLAPP_SCREENSHOT, and for the layout test
// KOLAPP_LAYOUT{4,8}_{DISPLAY,KIOSK,COUNTER} (offices of 4 and 8 queues).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { chromium } from 'playwright-core';

const env = name => {
  const v = process.env[name];
  assert.ok(v, `${name} is not set`);
  return v;
};
const HTTP = env('KOLAPP_HTTP_URL');
const TCP_PORT = Number(env('KOLAPP_TCP_PORT'));
const DISPLAY = env('KOLAPP_DISPLAY_TOKEN');
const COUNTER = env('KOLAPP_COUNTER_TOKEN');
const KIOSK = env('KOLAPP_KIOSK_TOKEN');

// ---- a line-protocol client over TCP ------------------------------------
function connect(token) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(TCP_PORT, '127.0.0.1');
    const waiting = [];
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('data', d => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const msg = JSON.parse(line);
        if (msg.event) continue;
        const w = waiting.shift();
        if (w) w(msg);
      }
    });
    sock.on('error', reject);
    const client = {
      req(obj) {
        return new Promise((res, rej) => {
          const timer = setTimeout(() => rej(new Error('no reply to ' + obj.op)), 5000);
          waiting.push(m => { clearTimeout(timer); res(m); });
          sock.write(JSON.stringify(obj) + '\n');
        });
      },
      async ok(obj) {
        const r = await client.req(obj);
        assert.equal(r.ok, true, `${obj.op}: ${JSON.stringify(r)}`);
        return r;
      },
      close() { sock.destroy(); }
    };
    sock.on('connect', async () => {
      try { await client.ok({ op: 'hello', token }); resolve(client); } catch (e) { reject(e); }
    });
  });
}

let context, page, kiosk, counter, userDataDir;

function boardUrl(lang) {
  return `${HTTP}/board?token=${encodeURIComponent(DISPLAY)}&lang=${lang}&speech=0`;
}

before(async () => {
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kolapp-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.KOLAPP_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1920, height: 1080 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = context.pages()[0] || await context.newPage();
  kiosk = await connect(KIOSK);
  counter = await connect(COUNTER);
  await counter.ok({ op: 'counter_open' });
  await page.goto(boardUrl('sv,en'));
  await page.waitForFunction(() => window.kolappBoard && window.kolappBoard.connected, null, { timeout: 10000 });
});

after(async () => {
  kiosk?.close();
  counter?.close();
  await context?.close();
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
});

const text = sel => page.locator(sel).textContent();

test('the board shows a ticket within one second of its call_next', async () => {
  const issued = await kiosk.ok({ op: 'issue', queue: 'S' });
  const code = issued.ticket.code;
  const chimes = await page.evaluate(() => window.kolappBoard.chimes);
  const t0 = Date.now();
  const r = await counter.ok({ op: 'call_next' });
  assert.equal(r.ticket.code, code);
  await page.waitForFunction(c => document.getElementById('latest-ticket').textContent === c,
    code, { timeout: 1000 });
  const elapsed = Date.now() - t0;
  assert.ok(elapsed < 1000, `shown after ${elapsed} ms`);
  assert.equal(await text('#latest-counter'), '3');
  assert.equal(await page.evaluate(() => window.kolappBoard.chimes), chimes + 1);
  // The announcement: letters spaced, the number without leading zeros.
  const n = String(Number(code.split('-')[1]));
  const spoken = await page.evaluate(() => window.kolappBoard.spoken.slice(-2));
  assert.deepEqual(spoken.map(s => s.text), [`Nummer S ${n}, lucka 3`, `Number S ${n}, counter 3`]);
  assert.equal(await page.locator('#latest').getAttribute('class'), 'latest flash');
});

test('the board shows a recall', async () => {
  const before = await page.evaluate(() => ({ chimes: window.kolappBoard.chimes, calls: window.kolappBoard.calls }));
  assert.equal(await page.locator('#recall').isVisible(), false);
  const r = await counter.ok({ op: 'recall' });
  await page.waitForFunction(() => !document.getElementById('recall').hidden, null, { timeout: 1000 });
  assert.equal(await text('#latest-ticket'), r.ticket.code);
  const after = await page.evaluate(() => ({ chimes: window.kolappBoard.chimes, calls: window.kolappBoard.calls }));
  assert.equal(after.chimes, before.chimes + 1);
  assert.equal(after.calls, before.calls + 1);
  // Both the call and the recall are in the list of recent calls.
  const recent = await page.locator('#recent li').allTextContents();
  assert.equal(recent.filter(t => t.startsWith(r.ticket.code)).length, 2, recent.join(' | '));
});

test('waiting counts per queue follow queue events; screenshot', async () => {
  for (const q of ['S', 'S', 'F', 'S', 'F'])
    await kiosk.ok({ op: 'issue', queue: q });
  await page.waitForFunction(() => {
    const li = document.querySelector('#queues li[data-queue="S"] .qcount');
    return li && li.textContent.startsWith('3 ');
  }, null, { timeout: 2000 });
  assert.match(await text('#queues li[data-queue="F"] .qcount'), /^2 /);
  assert.match(await text('#queues li[data-queue="S"] .qname'), /Skatteverket/);
  await counter.ok({ op: 'call_next' });
  await page.waitForFunction(() => !document.getElementById('latest').classList.contains('flash') ||
    document.getElementById('recent').children.length >= 3, null, { timeout: 2000 });
  const shot = process.env.KOLAPP_SCREENSHOT;
  if (shot) {
    await page.screenshot({ path: shot });
    assert.ok(fs.statSync(shot).size > 10000, 'screenshot is too small');
  }
});

test('the board shows offline while kolappd is stopped, and recovers', async () => {
  const pid = Number(fs.readFileSync(env('KOLAPP_PID_FILE'), 'utf8'));
  assert.equal(await page.locator('#offline').isVisible(), false);
  process.kill(pid, 'SIGTERM');
  await page.waitForSelector('#offline', { state: 'visible', timeout: 10000 });
  assert.match(await text('#offline'), /Ingen anslutning|No connection/);
  kiosk.close();
  counter.close();
  fs.writeFileSync(env('KOLAPP_RESTART_FIFO'), 'restart\n');
  await page.waitForSelector('#offline', { state: 'hidden', timeout: 20000 });
  // Live again: a call made now shows up.
  kiosk = await connect(KIOSK);
  counter = await connect(COUNTER);
  const issued = await kiosk.ok({ op: 'issue', queue: 'F' });
  await counter.ok({ op: 'call', ticket: issued.ticket.code });
  await page.waitForFunction(c => document.getElementById('latest-ticket').textContent === c,
    issued.ticket.code, { timeout: 2000 });
});

test('waits read as a visitor can trust them: soon, about, a range, unknown', async () => {
  const said = await page.evaluate(() => [
    window.kolappWaitText('en', null, null),
    window.kolappWaitText('en', 60, [0, 150]),
    window.kolappWaitText('en', 610, [560, 700]),
    window.kolappWaitText('en', 900, [600, 1500]),
    window.kolappWaitText('sv', 900, [600, 1500]),
    window.kolappWaitText('so', 100, null),
  ]);
  assert.deepEqual(said, ['wait unknown', 'soon', 'about 10 min', '10–25 min', '10–25 min', 'dhowaan']);
});

// The kiosk's office (tests/browser/run): S and F open, X closed, Y open
// but outside its ticket hours with no one waiting: closed on the board.
test('a queue outside its ticket hours reads closed, as a closed one', async () => {
  const p = await context.newPage();
  try {
    await p.goto(`${HTTP}/board?token=${encodeURIComponent(env('KOLAPP_KIOSKV_DISPLAY'))}&lang=en&speech=0`);
    await p.waitForFunction(() => document.querySelectorAll('#queues li').length === 4, null, { timeout: 10000 });
    const rows = await p.evaluate(() => Object.fromEntries([...document.querySelectorAll('#queues li')].map(li =>
      [li.dataset.queue, [li.className, li.querySelector('.qwait').textContent]])));
    assert.deepEqual(rows.Y, ['closed', 'closed']);
    assert.deepEqual(rows.X, ['closed', 'closed']);
    assert.equal(rows.S[0], '');
    assert.notEqual(rows.S[1], 'closed');
  } finally {
    await p.close();
  }
});

test('a right-to-left language lays out right to left', async () => {
  const ar = await context.newPage();
  try {
    await ar.goto(boardUrl('ar'));
    await ar.waitForFunction(() => window.kolappBoard && window.kolappBoard.connected, null, { timeout: 10000 });
    const dirs = await ar.evaluate(() => ({
      root: getComputedStyle(document.documentElement).direction,
      label: getComputedStyle(document.querySelector('[data-i18n="latest"]')).direction,
      text: document.querySelector('[data-i18n="latest"]').textContent,
      lang: document.documentElement.lang,
    }));
    assert.equal(dirs.root, 'rtl');
    assert.equal(dirs.label, 'rtl');
    assert.equal(dirs.lang, 'ar');
    assert.match(dirs.text, /[\u0600-\u06FF]/, 'the label is not in Arabic');
    // The latest call (large, left in ltr) is on the right in rtl.
    const box = await ar.locator('#latest').boundingBox();
    assert.ok(box.x > 1920 / 4, `latest call at x=${box.x}`);
  } finally {
    await ar.close();
  }
});

// Two counters call within 100 ms of each other: both calls are shown
// (the later as the latest, the earlier in the list under it) and both
// announced, in the order they were committed, each with its counter.
test('two calls within 100 ms are both shown and announced, in order', async () => {
  const ADMIN = process.env.KOLAPP_ADMIN_TOKEN;
  assert.ok(ADMIN, 'KOLAPP_ADMIN_TOKEN is not set');
  const k = await connect(KIOSK), c3 = await connect(COUNTER), adm = await connect(ADMIN);
  try {
    await adm.req({ op: 'counter_open', counter: '4' });
    await c3.req({ op: 'counter_open' });
    await k.ok({ op: 'issue', queue: 'S' });
    await k.ok({ op: 'issue', queue: 'F' });
    const before = await page.evaluate(() => ({ calls: window.kolappBoard.calls, spoken: window.kolappBoard.spoken.length }));
    const [a, b] = await Promise.all([c3.ok({ op: 'call_next' }), adm.ok({ op: 'call_next', counter: '4' })]);
    const gap = Math.abs(Date.parse(a.ticket.called_at) - Date.parse(b.ticket.called_at));
    assert.ok(gap < 100, `the calls were ${gap} ms apart`);
    await page.waitForFunction(n => window.kolappBoard.calls >= n, before.calls + 2, { timeout: 2000 });
    // Committed order: by called_at (ties: either order, but the board's).
    const calls = [{ t: a.ticket.code, c: '3', at: a.ticket.called_at }, { t: b.ticket.code, c: '4', at: b.ticket.called_at }];
    const board = await page.evaluate(() => window.kolappBoard.recent.slice(0, 2).reverse().map(r => r.ticket));
    assert.deepEqual([...board].sort(), calls.map(x => x.t).sort(), 'both calls are on the board');
    const inOrder = board.map(t => calls.find(x => x.t === t));
    assert.ok(Date.parse(inOrder[0].at) <= Date.parse(inOrder[1].at), 'shown in the order committed');
    assert.equal(await text('#latest-ticket'), inOrder[1].t);
    assert.equal(await text('#latest-counter'), inOrder[1].c);
    assert.equal(await page.locator('#recent li').first().locator('span').first().textContent(), inOrder[1].t);
    const spoken = await page.evaluate(n => window.kolappBoard.spoken.slice(n).map(s => s.text), before.spoken);
    const say = (x, sv) => {
      const n = String(Number(x.t.split('-')[1]));
      const q = x.t.split('-')[0].split('').join(' ');
      return sv ? `Nummer ${q} ${n}, lucka ${x.c}` : `Number ${q} ${n}, counter ${x.c}`;
    };
    assert.deepEqual(spoken.slice(-4), [say(inOrder[0], true), say(inOrder[0], false), say(inOrder[1], true), say(inOrder[1], false)]);
    await c3.ok({ op: 'finish' });
    await adm.ok({ op: 'finish', counter: '4' });
  } finally {
    k.close(); c3.close(); adm.close();
  }
});

test('numbers spoken digit by digit where the office prefers it', async () => {
  const p = await context.newPage();
  try {
    await p.goto(`${HTTP}/board?token=${encodeURIComponent(DISPLAY)}&lang=sv&speech=0&numbers=digits`);
    await p.waitForFunction(() => window.kolappBoard && window.kolappBoard.connected, null, { timeout: 10000 });
    const k = await connect(KIOSK), c3 = await connect(COUNTER);
    try {
      await k.ok({ op: 'issue', queue: 'S' });
      /* Whatever waited longest at counter 3 (S or F): its code is read. */
      const code = (await c3.ok({ op: 'call_next' })).ticket.code;
      await p.waitForFunction(c => document.getElementById('latest-ticket').textContent === c, code, { timeout: 2000 });
      const [q, num] = code.split('-');
      const digits = String(Number(num)).split('').join(' ');
      assert.equal(await p.evaluate(() => window.kolappSpokenTicket('MIGR-042')), 'M I G R 4 2');
      assert.equal(await page.evaluate(() => window.kolappSpokenTicket('MIGR-042')), 'M I G R 42');
      assert.equal(await p.evaluate(() => window.kolappBoard.spoken.at(-1).text), `Nummer ${q} ${digits}, lucka 3`);
      await c3.ok({ op: 'finish' });
    } finally {
      k.close(); c3.close();
    }
  } finally {
    await p.close();
  }
});

// ---- the queue list fits the screen ----------------------------------------
// 1 queue with a long name, 4 (the demo office's), 6 and 8 with long
// names, at 1080p landscape
// and portrait, with two-digit counts and a full list of recent calls:
// every element of the queue list is inside the screen and inside the
// section that clips it, none is wider than its box, and "N väntar" is on
// one line (and the latest call stays inside its box).
async function fillOffice(n) {
  const k = await connect(env(`KOLAPP_LAYOUT${n}_KIOSK`));
  const c = await connect(env(`KOLAPP_LAYOUT${n}_COUNTER`));
  try {
    const st = await k.ok({ op: 'status' });
    const codes = st.queues.map(q => q.code);
    assert.equal(codes.length, n);
    await c.ok({ op: 'counter_open' });
    // Called first so that the first queue still holds ten or more after.
    for (let i = 0; i < 6; i++)
      await k.ok({ op: 'issue', queue: codes[1] || codes[0] });
    for (let i = 0; i < 6; i++)
      await c.ok({ op: 'call_next' });
    for (let i = 0; i < 12; i++)
      await k.ok({ op: 'issue', queue: codes[0] });
    for (const code of codes.slice(1))
      await k.ok({ op: 'issue', queue: code });
    return (await k.ok({ op: 'status' })).queues.reduce((sum, q) => sum + q.waiting, 0);
  } finally {
    k.close();
    c.close();
  }
}

async function layoutProblems(p) {
  return p.evaluate(() => {
    const problems = [];
    const vw = window.innerWidth, vh = window.innerHeight;
    const clip = document.querySelector('.queues').getBoundingClientRect();
    const what = el => `${el.tagName.toLowerCase()}.${el.className || ''} "${el.textContent.slice(0, 40)}"`;
    const inside = (r, b) => r.left >= b.left - 0.5 && r.top >= b.top - 0.5 &&
      r.right <= b.right + 0.5 && r.bottom <= b.bottom + 0.5;
    const els = [document.getElementById('queues'), ...document.querySelectorAll('#queues *')];
    for (const el of els) {
      const r = el.getBoundingClientRect();
      if (!inside(r, { left: 0, top: 0, right: vw, bottom: vh }))
        problems.push(`outside the screen: ${what(el)} at ${Math.round(r.left)},${Math.round(r.top)}-${Math.round(r.right)},${Math.round(r.bottom)}`);
      else if (!inside(r, clip))
        problems.push(`cut off by .queues: ${what(el)}`);
      if (el.scrollWidth > el.clientWidth)
        problems.push(`wider than its box: ${what(el)} (${el.scrollWidth} > ${el.clientWidth})`);
    }
    // The call above them must not push the page wider either.
    const latest = document.getElementById('latest').getBoundingClientRect();
    if (!inside(latest, { left: 0, top: 0, right: vw, bottom: vh }))
      problems.push('the latest call\'s box is outside the screen');
    for (const el of document.querySelectorAll('#latest .call > *'))
      if (!inside(el.getBoundingClientRect(), latest))
        problems.push(`outside the latest call's box: ${what(el)}`);
    for (const el of document.querySelectorAll('#queues .qcount')) {
      const range = document.createRange();
      range.selectNodeContents(el);
      const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
      if (!/^\d+ väntar$/.test(el.textContent))
        problems.push(`count text: ${what(el)}`);
      if (lines.size !== 1)
        problems.push(`count on ${lines.size} lines: ${what(el)}`);
    }
    return problems;
  });
}

for (const n of [1, 4, 6, 8]) {
  test(`${n} queues fit a 1080p screen in landscape and portrait`, async () => {
    const waiting = await fillOffice(n);
    const p = await context.newPage();
    try {
      for (const [width, height] of [[1920, 1080], [1080, 1920]]) {
        await p.setViewportSize({ width, height });
        await p.goto(`${HTTP}/board?token=${encodeURIComponent(env(`KOLAPP_LAYOUT${n}_DISPLAY`))}&lang=sv&speech=0`);
        await p.waitForFunction(([n, waiting]) => {
          const counts = [...document.querySelectorAll('#queues .qcount')];
          return window.kolappBoard?.connected && counts.length === n &&
            counts.reduce((sum, el) => sum + parseInt(el.textContent, 10), 0) === waiting &&
            document.querySelectorAll('#recent li').length === 6;
        }, [n, waiting], { timeout: 10000 });
        const shot = process.env.KOLAPP_SCREENSHOT;
        if (shot)
          await p.screenshot({ path: shot.replace(/\.png$/, '') + `-${n}q-${width}x${height}.png` });
        const problems = await layoutProblems(p);
        assert.deepEqual(problems, [], `${n} queues at ${width}x${height}:\n${problems.join('\n')}`);
      }
    } finally {
      await p.close();
    }
  });
}
