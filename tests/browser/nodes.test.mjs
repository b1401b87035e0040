// Several daemons on one database (issue 16), in headless chromium: the
// board works through any daemon, and when its daemon dies (SIGKILL) it
// shows the next call, made through the other daemon, within 10 s.
// tests/browser/run starts two named kolappd (a, b) for this file.
// Env: KOLAPP_NODE_{A,B}_URL, KOLAPP_NODE_{A,B}_PID_FILE,
// (KOLAPP_RESTART_FIFO: a line there starts the killed daemon again), KOLAPP_DISPLAY_TOKEN,
// KOLAPP_COUNTER_TOKEN (counter "3" of office brw), KOLAPP_KIOSK_TOKEN,
// KOLAPP_CHROMIUM, KOLAPP_CONNINFO (psql, for kolapp.move_office).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';

const env = name => {
  const v = process.env[name];
  assert.ok(v, `${name} is not set`);
  return v;
};
const NODES = [env('KOLAPP_NODE_A_URL'), env('KOLAPP_NODE_B_URL')];
const PID_FILES = { [NODES[0]]: env('KOLAPP_NODE_A_PID_FILE'), [NODES[1]]: env('KOLAPP_NODE_B_PID_FILE') };
const DISPLAY = env('KOLAPP_DISPLAY_TOKEN');
const COUNTER = env('KOLAPP_COUNTER_TOKEN');
const KIOSK = env('KOLAPP_KIOSK_TOKEN');
const OFFICE = 'brw';
const OFFICES = 6; /* seeded by tests/browser/run */
const RECOVERY_MS = 10000; /* protocol-v1.md: a page recovers within 10 s */

const sleep = ms => new Promise(r => setTimeout(r, ms));

/* Polls fn until it returns something truthy, or fails after ms. */
async function until(what, ms, fn) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => null);
    if (v) return v;
    assert.ok(Date.now() < deadline, `${what}: not within ${ms} ms`);
    await sleep(100);
  }
}

/* The offices each daemon serves, from its /metrics; null when down. */
async function served(base) {
  const r = await fetch(base + '/metrics', { signal: AbortSignal.timeout(2000) });
  const text = await r.text();
  return [...text.matchAll(/^kolapp_office_served\{office="([^"]+)"\} 1$/gm)].map(m => m[1]);
}

/* Both daemons up and the offices split evenly: nothing moves under the test. */
async function settled() {
  return until('the offices split between the two daemons', 30000, async () => {
    const [a, b] = await Promise.all(NODES.map(served));
    return a.length === OFFICES / 2 && b.length === OFFICES / 2 ? { a, b } : null;
  });
}

async function ownerOf(office) {
  const { a } = await settled();
  return a.includes(office) ? { owner: NODES[0], other: NODES[1] } : { owner: NODES[1], other: NODES[0] };
}

/* One request of /api/op on that daemon, not following a redirect (the
 * call must be made through that daemon); null unless it was answered. */
async function op(base, token, body) {
  const r = await fetch(`${base}/api/op?token=${encodeURIComponent(token)}`, {
    method: 'POST', body: JSON.stringify(body), redirect: 'manual',
    signal: AbortSignal.timeout(3000),
  });
  if (r.status !== 200) return null;
  const j = await r.json();
  return j.ok ? j : null;
}

let context, page, userDataDir;

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
});

after(async () => {
  await context?.close();
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
});

async function openBoard(base) {
  await page.goto(`${base}/board?token=${encodeURIComponent(DISPLAY)}&lang=sv&speech=0`);
  try {
    await page.waitForFunction(() => window.kolappBoard && window.kolappBoard.connected &&
      window.kolappNodes.state.list.length === 2, null, { timeout: 10000 });
  } catch (e) {
    const seen = await page.evaluate(() => ({ connected: window.kolappBoard && window.kolappBoard.connected,
      nodes: window.kolappNodes && window.kolappNodes.state.list }));
    throw new Error(`the board on ${base} is not ready: ${JSON.stringify(seen)}: ${e.message}`);
  }
}

const latest = () => page.locator('#latest-ticket').textContent();

/* A ticket issued and called at base; its code. */
async function issueAndCall(base) {
  await op(base, COUNTER, { op: 'counter_open' }).catch(() => null);
  const issued = await op(base, KIOSK, { op: 'issue', queue: 'S' });
  assert.ok(issued, `issue at ${base}`);
  const called = await op(base, COUNTER, { op: 'call_next' });
  assert.ok(called, `call_next at ${base}`);
  return called.ticket.code;
}

/* SIGKILLs the daemon at base; then a ticket is issued and called through
 * the other as soon as it serves the office; the board must show it
 * within RECOVERY_MS of the kill. Then the killed daemon is started again. */
async function killAndCall(dead, alive) {
  await op(alive, KIOSK, { op: 'ping' });
  const pid = Number(fs.readFileSync(PID_FILES[dead], 'utf8'));
  const t0 = Date.now();
  process.kill(pid, 'SIGKILL');
  const code = await until('the other daemon serves the office', RECOVERY_MS, async () => {
    if (!await op(alive, KIOSK, { op: 'issue', queue: 'S' })) return null;
    const called = await op(alive, COUNTER, { op: 'call_next' });
    return called && called.ticket.code;
  });
  const tookOver = Date.now() - t0;
  await page.waitForFunction(c => document.getElementById('latest-ticket').textContent === c,
    code, { timeout: Math.max(1, t0 + RECOVERY_MS - Date.now()), polling: 50 });
  const shown = Date.now() - t0;
  console.log(`board: ${code} called through the other daemon ${tookOver} ms after the kill, shown at ${shown} ms`);
  assert.ok(shown < RECOVERY_MS, `shown ${shown} ms after the kill`);
  fs.writeFileSync(env('KOLAPP_RESTART_FIFO'), 'restart\n');
  await until('the killed daemon back', 20000, () => served(dead));
}

const tokenQuery = t => `?token=${encodeURIComponent(t)}`;

test('every URL works through either daemon: 307 to the owner, CORS, /api/nodes, metrics', async () => {
  const { owner, other } = await ownerOf(OFFICE);
  const nodes = await (await fetch(other + '/api/nodes')).json();
  assert.deepEqual(nodes.nodes.slice().sort(), NODES.slice().sort());
  assert.equal(nodes.nodes[0], other, 'the daemon asked comes first');
  assert.ok(['a', 'b'].includes(nodes.node), JSON.stringify(nodes));

  // The API: after the token check, a 307 to the owner with the same path and query.
  for (const [pathQuery, init] of [
    ['/api/status' + tokenQuery(DISPLAY), {}],
    ['/api/events' + tokenQuery(DISPLAY), {}],
    ['/api/op' + tokenQuery(KIOSK), { method: 'POST', body: '{"op":"ping"}' }],
  ]) {
    const r = await fetch(other + pathQuery, { ...init, redirect: 'manual' });
    assert.equal(r.status, 307, pathQuery.split('?')[0]);
    assert.equal(r.headers.get('location'), owner + pathQuery);
    assert.equal(r.headers.get('access-control-allow-origin'), '*');
    const moved = await r.json();
    assert.equal(moved.error.code, 'moved');
  }
  const wrong = await fetch(other + '/api/status?token=wrong', { redirect: 'manual' });
  assert.equal(wrong.status, 401, 'a wrong token is refused where it is sent');
  const pre = await fetch(other + '/api/op', {
    method: 'OPTIONS',
    headers: { Origin: owner, 'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'content-type' },
  });
  assert.equal(pre.status, 204);
  assert.match(pre.headers.get('access-control-allow-headers'), /Content-Type/);
  assert.match(pre.headers.get('access-control-allow-methods'), /POST/);
  const st = await (await fetch(owner + '/api/status' + tokenQuery(DISPLAY))).json();
  assert.equal(st.office, OFFICE);
  assert.equal(st.node, nodes.node === 'a' ? 'b' : 'a', 'status says which daemon answered');

  // A visitor's page: a ticket issued after the other daemon loaded is
  // not in its memory: it asks the next daemon, the owner.
  const issued = await op(owner, KIOSK, { op: 'issue', queue: 'F' });
  const vp = issued.visitor_path;
  let r = await fetch(other + vp + '/ticket', { redirect: 'manual' });
  assert.equal(r.status, 307);
  assert.equal(r.headers.get('location'), `${owner}${vp}/ticket?hop=1`);
  r = await fetch(other + vp + '/ticket');
  assert.equal(r.status, 200);
  assert.equal((await r.json()).ticket.code, issued.ticket.code);
  // A secret nobody knows: one hop, then the plain 404.
  const bogus = '/t/' + 'A'.repeat(32);
  r = await fetch(other + bogus, { redirect: 'manual' });
  assert.equal(r.status, 307);
  r = await fetch(other + bogus);
  assert.equal(r.status, 404);
  assert.equal(r.url, `${owner}${bogus}?hop=1`);

  // /metrics: each office served by exactly one; the queue gauges on the owner only.
  const [ma, mb] = await Promise.all(NODES.map(b => fetch(b + '/metrics').then(x => x.text())));
  for (const m of [ma, mb]) assert.match(m, /^kolapp_node_info\{node="[ab]"\} 1$/m);
  const servedBy = m => new RegExp(`^kolapp_office_served\\{office="${OFFICE}"\\} 1$`, 'm').test(m);
  assert.equal(servedBy(ma) + servedBy(mb), 1);
  const waitingLine = new RegExp(`^kolapp_tickets_waiting\\{office="${OFFICE}",`, 'm');
  assert.equal(waitingLine.test(owner === NODES[0] ? ma : mb), true);
  assert.equal(waitingLine.test(owner === NODES[0] ? mb : ma), false);
});

test('a board on the daemon that does not own its office follows calls through the redirect', async () => {
  const { owner, other } = await ownerOf(OFFICE);
  await openBoard(other);
  // In the page: a POST with a JSON body (a preflighted request) that gets
  // a 307 to another origin arrives there, body and all.
  const posted = await page.evaluate(async t => {
    const r = await fetch('/api/op?token=' + encodeURIComponent(t), {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ id: 7, op: 'ping' }),
    });
    return { status: r.status, url: r.url, reply: await r.json() };
  }, KIOSK);
  assert.equal(posted.status, 200);
  assert.ok(posted.url.startsWith(owner + '/api/op?'), posted.url);
  assert.deepEqual([posted.reply.id, posted.reply.ok], [7, true]);
  const code = await issueAndCall(owner);
  await page.waitForFunction(c => document.getElementById('latest-ticket').textContent === c,
    code, { timeout: 2000 });
  // The board's own daemon lives on; its office's owner dies.
  await killAndCall(owner, other);
});

test('the board\'s daemon is killed: the board shows the next call, made through the other daemon, within 10 s', async () => {
  const { owner, other } = await ownerOf(OFFICE);
  await openBoard(owner);
  const code = await issueAndCall(owner);
  await page.waitForFunction(c => document.getElementById('latest-ticket').textContent === c,
    code, { timeout: 2000 });
  assert.equal(await latest(), code);
  await killAndCall(owner, other);
  assert.ok(await page.evaluate(() => window.kolappNodes.state.switches) >= 1, 'the board never moved');
});

test('a clerk\'s page and a visitor\'s page on the killed daemon recover too', async () => {
  const { owner, other } = await ownerOf(OFFICE);
  const issued = await op(owner, KIOSK, { op: 'issue', queue: 'F' });
  const code = issued.ticket.code;
  const clerk = await context.newPage();
  const visitor = await context.newPage();
  try {
    await clerk.goto(`${owner}/counter${tokenQuery(COUNTER)}&lang=sv`);
    await visitor.goto(owner + issued.visitor_path);
    await clerk.waitForFunction(() => window.kolappCounter.connected &&
      window.kolappNodes.state.list.length === 2, null, { timeout: 10000 });
    await visitor.waitForFunction(c => window.kolappVisitor.online && window.kolappVisitor.ticket &&
      window.kolappVisitor.ticket.code === c && window.kolappNodes.state.list.length === 2,
    code, { timeout: 10000 });
    const pid = Number(fs.readFileSync(PID_FILES[owner], 'utf8'));
    const t0 = Date.now();
    process.kill(pid, 'SIGKILL');
    await until('the ticket called through the other daemon', RECOVERY_MS,
      () => op(other, COUNTER, { op: 'call', ticket: code }));
    const left = () => Math.max(1, t0 + RECOVERY_MS - Date.now());
    await visitor.waitForFunction(c => window.kolappVisitor.ticket.state === 'called',
      code, { timeout: left(), polling: 50 });
    const visitorAt = Date.now() - t0;
    await clerk.waitForFunction(c => document.getElementById('held-code').textContent === c,
      code, { timeout: left(), polling: 50 });
    const clerkAt = Date.now() - t0;
    console.log(`visitor's page: called shown at ${visitorAt} ms; clerk's page at ${clerkAt} ms after the kill`);
    assert.ok(Math.max(visitorAt, clerkAt) < RECOVERY_MS);
    fs.writeFileSync(env('KOLAPP_RESTART_FIFO'), 'restart\n');
    await until('the killed daemon back', 20000, () => served(owner));
  } finally {
    await clerk.close();
    await visitor.close();
  }
});

function psql(sql) {
  return execFileSync('psql', [env('KOLAPP_CONNINFO'), '-XqAt', '-v', 'ON_ERROR_STOP=1', '-c', sql],
    { encoding: 'utf8' }).trim();
}

test('kolapp.move_office: the board follows the office to its new daemon; the old one redirects', async () => {
  const { owner, other } = await ownerOf(OFFICE);
  const otherName = (await (await fetch(other + '/api/nodes')).json()).node;
  await openBoard(owner);
  // Known to the owner only: issued after the other loaded the office.
  const issued = await op(owner, KIOSK, { op: 'issue', queue: 'F' });
  const t0 = Date.now();
  psql(`SELECT kolapp.move_office('${OFFICE}', '${otherName}')`);
  try {
    await until('the office served by the other daemon', 10000, async () =>
      (await served(other)).includes(OFFICE) && !(await served(owner)).includes(OFFICE));
    // The owner ended the board's stream; its reconnection is redirected.
    const code = await until('a call through the new owner', 10000, async () => {
      const called = await op(other, COUNTER, { op: 'call_next' });
      return called && called.ticket && called.ticket.code;
    });
    await page.waitForFunction(c => document.getElementById('latest-ticket').textContent === c,
      code, { timeout: 10000, polling: 50 });
    console.log(`board: ${code} after the move shown at ${Date.now() - t0} ms`);
    // The old owner still holds the ticket, stale: it sends the visitor on
    // without going round the ring.
    const r = await fetch(owner + issued.visitor_path, { redirect: 'manual' });
    assert.equal(r.status, 307);
    assert.equal(r.headers.get('location'), other + issued.visitor_path);
  } finally {
    psql(`SELECT kolapp.move_office('${OFFICE}', NULL)`);
  }
});
