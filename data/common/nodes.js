/* Which daemon a page talks to. Several kolappd may serve one database,
 * each office served by one of them (PROTOCOL.md 16): any daemon
 * answers any URL, redirecting to the office's owner, so a page needs
 * another daemon only when its own stops answering. It keeps the list of
 * live daemons (GET /api/nodes, every 30 s) and, when the one it uses
 * cannot be reached for a few seconds, moves to the next, so that it
 * shows current data again within 10 s of its daemon's death.
 *
 * Tokens go in the URL (?token=), not in an Authorization header: a
 * browser drops that header when it follows a redirect to another
 * origin (the Fetch standard), and every request may be redirected.
 *
 *   kolappNodes.url(path)          path on the daemon in use
 *   kolappNodes.read(path, opts)   fetch of a read: asked again, once, of
 *                                  the daemon that answers after a failure
 *   kolappNodes.send(path, opts)   fetch of a change: one daemon, never
 *                                  repeated (a change that reached a daemon
 *                                  before it died may have committed)
 *   kolappNodes.stream(path, on)   an EventSource that moves on by itself
 */
'use strict';

window.kolappNodes = (function () {
  const SWITCH_AFTER_MS = 3000; /* unreachable this long: the next daemon */
  const RETRY_MS = 1000;        /* after a refusal (503 while no daemon owns the office) */
  const RETRY_MAX_MS = 5000;    /* ... growing to this when refusals go on (a revoked token) */
  const READ_TIMEOUT_MS = 5000; /* a host that vanished does not say so */
  const PROBE_TIMEOUT_MS = 2000;
  /* A stream says something every 15 s (event: keepalive); silence this
   * long means its daemon's host vanished without closing it. */
  const SILENCE_MS = 40000;
  const REFRESH_MS = 30000;
  const REFRESH_SOON_MS = 2000; /* while the list could not be had */
  const self = location.origin;
  let list = [self], at = 0;
  /* For tests and for anyone debugging a page on site. */
  const state = { switches: 0, get list() { return list.slice(); }, get current() { return list[at]; } };

  function url(path) { return (list[at] === self ? '' : list[at]) + path; }

  /* The next daemon in the list (the same one when it is alone). */
  function next() {
    if (list.length > 1) {
      at = (at + 1) % list.length;
      state.switches++;
    }
  }

  /* The live daemons' HTTP bases, from any of them; this page's own
   * origin stays in the list, for when it comes back. */
  function learn(bases) {
    if (!Array.isArray(bases)) return;
    const current = list[at], fresh = [];
    bases.concat([self]).forEach(b => {
      if (typeof b !== 'string' || !/^https?:\/\/[^/]+/.test(b)) return;
      b = b.replace(/\/+$/, '');
      if (!fresh.includes(b)) fresh.push(b);
    });
    list = fresh;
    at = Math.max(0, list.indexOf(current));
  }

  function withTimeout(opts, ms) {
    const o = Object.assign({}, opts);
    if (!o.signal && window.AbortSignal && AbortSignal.timeout) o.signal = AbortSignal.timeout(ms);
    return o;
  }

  /* Whether the daemon at base answers (any answer: even an error says
   * it lives); its list of live daemons when it gives one. */
  async function probe(base, timeoutMs) {
    try {
      const r = await fetch((base === self ? '' : base) + '/api/nodes',
                            withTimeout({ cache: 'no-store' }, timeoutMs || PROBE_TIMEOUT_MS));
      let nodes = null;
      if (r.ok) nodes = (await r.json().catch(() => ({}))).nodes;
      return { alive: true, nodes: nodes };
    } catch (e) {
      return { alive: false };
    }
  }

  /* Something failed to reach a daemon: the one in use, or the office's
   * owner it redirected to. Stays with the one in use while it answers
   * (its list then says which daemons live); otherwise moves along the
   * list to the first that answers. One look at a time. */
  let checking = null;
  function recheck() {
    if (!checking) {
      checking = (async () => {
        for (let i = 0; i < list.length; i++) {
          const p = await probe(list[at]);
          if (p.alive) {
            if (p.nodes) learn(p.nodes);
            return true;
          }
          next();
        }
        return false;
      })().finally(() => { checking = null; });
    }
    return checking;
  }

  /* fetch() rejects only when no answer came. A read is asked again once
   * the daemon to ask is known again. */
  async function read(path, opts) {
    try {
      return await fetch(url(path), withTimeout(opts, READ_TIMEOUT_MS));
    } catch (e) {
      await recheck();
      return fetch(url(path), withTimeout(opts, READ_TIMEOUT_MS));
    }
  }

  async function send(path, opts) {
    try {
      return await fetch(url(path), opts);
    } catch (e) {
      await recheck(); /* the next change goes to a daemon that answers */
      throw e;
    }
  }

  /* Every 30 s; sooner again when no list came (a page loaded while its
   * daemon was busy or starting must not wait 30 s to learn the others). */
  async function refresh() {
    const p = await probe(list[at], READ_TIMEOUT_MS);
    if (p.alive && p.nodes) learn(p.nodes);
    else if (!p.alive) await recheck();
    setTimeout(refresh, p.alive && p.nodes ? REFRESH_MS : REFRESH_SOON_MS);
  }

  /* An EventSource on the daemon in use. While a daemon cannot be reached
   * the browser retries by itself (readyState CONNECTING); after
   * SWITCH_AFTER_MS of that, the stream starts over on the daemon that
   * recheck() finds (the same one when it answers: then the owner it
   * redirected to died, and the next redirect goes to the new owner).
   * An answer that is an error (CLOSED: 503 while nobody owns the office,
   * say) comes from a daemon that lives: it is asked again, soon.
   * on: { open(), error(), events: { name: handler }, refused() }: with
   * refused, an error answer ends the stream and calls it instead (the
   * visitor's page then polls). */
  function stream(path, on) {
    let es = null, switchTimer = null, retryTimer = null, refusals = 0, stopped = false, heard = 0;
    const silence = setInterval(() => {
      if (stopped || !es || es.readyState !== EventSource.OPEN || Date.now() - heard < SILENCE_MS) return;
      es.close();
      if (on.error) on.error();
      recheck().then(open);
    }, SILENCE_MS / 4);

    function clearSwitch() { clearTimeout(switchTimer); switchTimer = null; }
    function open() {
      retryTimer = null;
      if (stopped) return;
      const mine = es = new EventSource(url(path));
      mine.onopen = () => {
        heard = Date.now();
        if (mine !== es) return;
        clearSwitch();
        refusals = 0;
        if (on.open) on.open();
      };
      mine.onerror = () => {
        if (mine !== es) return;
        if (on.error) on.error();
        if (mine.readyState === EventSource.CLOSED) {
          clearSwitch();
          mine.close();
          if (on.refused) {
            stopped = true;
            clearInterval(silence);
            on.refused();
            return;
          }
          retryTimer = setTimeout(open, Math.min(RETRY_MAX_MS, RETRY_MS * ++refusals));
        } else if (!switchTimer) {
          switchTimer = setTimeout(async () => {
            await recheck();
            switchTimer = null;
            if (stopped || mine !== es || mine.readyState === EventSource.OPEN) return;
            mine.close();
            open();
          }, SWITCH_AFTER_MS);
        }
      };
      mine.addEventListener('keepalive', () => { heard = Date.now(); });
      Object.entries(on.events || {}).forEach(([name, fn]) => mine.addEventListener(name, e => {
        heard = Date.now();
        fn(e);
      }));
    }
    open();
    return {
      get readyState() { return es ? es.readyState : EventSource.CLOSED; },
      close() {
        stopped = true;
        clearSwitch();
        clearTimeout(retryTimer);
        clearInterval(silence);
        if (es) es.close();
      }
    };
  }

  refresh();
  return { url, read, send, stream, learn, next, state };
})();
