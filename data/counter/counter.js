/* The clerk's page at one counter. Every change goes through POST /api/op
 * (the protocol's own requests, answered after their commit); the picture
 * comes from GET /api/status, fetched again whenever GET /api/events says
 * something changed, after every reconnection, and every few seconds
 * while the database is away (no event says it is back).
 * URL: /counter?token=COUNTER_TOKEN[&lang=sv|en]; an admin's token works
 * with &counter=NAME. Every text comes from i18n.json. */
'use strict';

(function () {
  const params = new URLSearchParams(location.search);
  const token = params.get('token') || '';
  const wantLang = (params.get('lang') || 'sv').split(',')[0].trim();
  const namedCounter = params.get('counter');
  const REFRESH_MS = 30000, STALE_REFRESH_MS = 2000;

  const $ = id => document.getElementById(id);
  /* For tests and for anyone debugging a counter on site. */
  const state = window.kolappCounter = {
    loaded: false, connected: false, stale: false, fatal: null, status: null, role: null,
    me: null, held: null, reason: null, busy: false, message: null, error: null,
    lang: 'sv', i18n: {}, replies: 0
  };

  /* ---- texts ------------------------------------------------------------ */
  function t(key, vars) {
    const l = state.i18n[state.lang] || {};
    const s = l[key] || (state.i18n.en && state.i18n.en[key]) || key;
    return s.replace(/\{(\w+)\}/g, (m, k) => (vars && k in vars ? String(vars[k]) : m));
  }
  function applyTexts() {
    document.querySelectorAll('[data-i18n]').forEach(el => { el.textContent = t(el.dataset.i18n); });
    $('code').placeholder = t('enter_code');
    render();
  }
  async function loadTexts() {
    const r = await fetch('/counter/i18n.json', { cache: 'no-cache' });
    state.i18n = await r.json();
    state.lang = state.i18n[wantLang] ? wantLang : 'sv';
    document.documentElement.lang = state.lang;
    document.documentElement.dir = state.i18n[state.lang].dir === 'rtl' ? 'rtl' : 'ltr';
    applyTexts();
  }
  let languageNames = null;
  function languageName(code) {
    try {
      languageNames = languageNames || new Intl.DisplayNames([state.lang], { type: 'language' });
      const name = languageNames.of(code);
      return name && name !== code ? name + ' (' + code + ')' : code;
    } catch (e) {
      return code;
    }
  }
  const pad = n => String(n).padStart(2, '0');
  const hhmm = d => pad(d.getHours()) + ':' + pad(d.getMinutes());

  /* ---- messages ------------------------------------------------------------ */
  function say(text) {
    state.message = text;
    state.error = null;
    const m = $('message');
    m.textContent = text;
    m.className = 'message info';
    m.removeAttribute('role');
  }
  /* Never silent: every refusal is shown in words, the server's own. */
  function sayError(text) {
    state.error = text;
    const m = $('message');
    m.textContent = text;
    m.className = 'message error';
    m.setAttribute('role', 'alert');
  }
  function fatal(text) {
    state.fatal = text;
    $('fatal').textContent = text;
    $('fatal').hidden = false;
    render();
  }

  /* ---- the server ------------------------------------------------------------ */
  let reqId = 0;
  /* One request; resolves to its reply object, or to {ok:false, network}
   * when no answer came (then nothing is known to have changed). */
  async function request(obj) {
    const body = Object.assign({ id: ++reqId }, obj);
    /* An admin's token names the counter; ops that act on none ignore it. */
    if (state.role === 'admin') body.counter = state.me;
    let r;
    try {
      /* Never sent again by itself: a change that reached a daemon
       * before it died may have committed (kolappNodes.send). */
      r = await kolappNodes.send('/api/op?token=' + encodeURIComponent(token), {
        method: 'POST', cache: 'no-store', body: JSON.stringify(body),
        headers: { 'Content-Type': 'application/json' }
      });
    } catch (e) {
      return { ok: false, network: true };
    }
    let reply = null;
    try { reply = await r.json(); } catch (e) { /* not JSON: libevent's 413 */ }
    if (r.status === 401) fatal(t('unauthorized'));
    if (!reply || typeof reply.ok !== 'boolean')
      return { ok: false, error: { code: 'http', message: t('err_http', { status: r.status }) } };
    return reply;
  }

  /* A change from a button: one at a time, its answer in words. */
  async function run(obj, done) {
    if (state.busy || state.fatal) return null;
    setBusy(true);
    let reply;
    try {
      reply = await request(obj);
    } finally {
      setBusy(false);
    }
    state.replies++;
    if (reply.network)
      sayError(t('err_network'));
    else if (!reply.ok)
      sayError(t('err', { message: (reply.error && (reply.error.message || reply.error.code)) || '?' }));
    else if (done)
      done(reply);
    fetchStatus();
    return reply;
  }
  function setBusy(b) {
    state.busy = b;
    document.body.classList.toggle('busy', b);
    renderButtons();
  }

  let statusSeq = 0;
  async function fetchStatus() {
    const seq = ++statusSeq;
    let r, s;
    try {
      r = await kolappNodes.read('/api/status?token=' + encodeURIComponent(token), { cache: 'no-store' });
      if (r.status === 401) { fatal(t('unauthorized')); return; }
      if (!r.ok) return;
      s = await r.json();
    } catch (e) {
      return;   /* the event stream's state drives the banner */
    }
    if (seq !== statusSeq) return;   /* a newer one is on its way */
    applyStatus(s);
  }

  function myCounter() {
    const s = state.status;
    return s && (s.counters || []).find(c => c.name === state.me) || null;
  }
  function queueOf(code) {
    const s = state.status;
    return s && (s.queues || []).find(q => q.code === code) || null;
  }

  function applyStatus(s) {
    state.status = s;
    state.role = s.you && s.you.role;
    state.me = state.role === 'counter' ? s.you.counter : namedCounter;
    state.stale = !!s.stale;
    state.loaded = true;
    $('stale').hidden = !s.stale;
    if (state.role !== 'counter' && !(state.role === 'admin' && state.me)) {
      fatal(t('not_counter'));
      return;
    }
    const c = myCounter();
    const code = c && c.ticket;
    if (!code) {
      state.held = null;
      state.reason = null;
    } else if (!state.held || state.held.code !== code || state.held.state !== c.state) {
      if (state.held && state.held.code !== code) state.reason = null;
      fetchHeld(code);
    }
    render();
  }

  /* The held ticket's details (status names only its code). */
  async function fetchHeld(code) {
    const reply = await request({ op: 'ticket', ticket: code });
    const c = myCounter();
    if (reply.ok && c && c.ticket === code) {
      state.held = reply.ticket;
      render();
    }
  }

  /* ---- actions ------------------------------------------------------------------ */
  function setHeld(ticket, reason) {
    state.held = ticket && ['called', 'serving'].includes(ticket.state) ? ticket : null;
    state.reason = state.held ? reason || null : null;
    render();
  }
  const actions = {
    call_next() {
      run({ op: 'call_next' }, r => {
        setHeld(r.ticket, r.reason);
        if (r.ticket)
          say(r.finished ? t('msg_finished_called', { finished: r.finished, ticket: r.ticket.code })
                         : t('msg_called', { ticket: r.ticket.code }));
        else
          say(r.finished ? t('msg_nobody_finished', { finished: r.finished }) : t('msg_nobody'));
      });
    },
    recall() { run({ op: 'recall' }, r => { setHeld(r.ticket); say(t('msg_recalled', { ticket: r.ticket.code })); }); },
    start() { run({ op: 'start' }, r => { setHeld(r.ticket, state.reason); say(t('msg_started', { ticket: r.ticket.code })); }); },
    finish() {
      const q = state.held && queueOf(state.held.queue);
      if (q && q.outcomes && q.outcomes.length) openOutcomes(false);
      else finish(null);
    },
    no_show() { run({ op: 'no_show' }, r => { setHeld(null); say(t('msg_no_show', { ticket: r.ticket.code })); }); },
    park() { run({ op: 'park' }, r => { setHeld(null); say(t('msg_parked', { ticket: r.ticket.code })); }); },
    transfer() { openTransfer(); }
  };
  async function finish(outcome) {
    const obj = { op: 'finish' };
    if (outcome) obj.outcome = outcome;
    const reply = await run(obj, r => { setHeld(null); say(t('msg_finished', { ticket: r.ticket.code })); });
    /* The queue wants an outcome the page did not know of: ask for its code. */
    if (reply && !reply.ok && reply.error && reply.error.code === 'bad_request' &&
        /outcome/.test(reply.error.message || ''))
      openOutcomes(true);
  }
  /* After a code typed in the field worked: the field is emptied and
   * let go, so that the next key is a shortcut again. */
  function codeDone() {
    $('code').value = '';
    if (document.activeElement === $('code')) $('code').blur();
  }
  function callCode(code, typed) {
    run({ op: 'call', ticket: code }, r => {
      if (typed) codeDone();
      setHeld(r.ticket, null);
      say(r.finished ? t('msg_finished_called', { finished: r.finished, ticket: r.ticket.code })
                     : t('msg_called', { ticket: r.ticket.code }));
    });
  }
  function reactivate(code) {
    run({ op: 'reactivate', ticket: code }, r => {
      codeDone();
      say(t('msg_reactivated', { ticket: r.ticket.code }));
    });
  }
  function typedCode() {
    const code = $('code').value.trim().toUpperCase();
    if (!code) { sayError(t('need_code')); $('code').focus(); return null; }
    return code;
  }
  function toggleOpen() {
    const c = myCounter();
    if (!c) return;
    run({ op: c.open ? 'counter_close' : 'counter_open' }, r => {
      c.open = r.counter.open;
      say(t(r.counter.open ? 'msg_opened' : 'msg_closed'));
      render();
    });
  }

  /* ---- dialogs ------------------------------------------------------------------- */
  function choice(label, key, onPick) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'btn choice';
    const k = document.createElement('kbd');
    k.textContent = key;
    const span = document.createElement('span');
    span.className = 'label';
    span.textContent = label;
    b.append(span, k);
    b.addEventListener('click', onPick);
    li.append(b);
    return li;
  }
  function openOutcomes(free) {
    if (!state.held) return;
    const d = $('outcome-dialog');
    const q = queueOf(state.held.queue) || {};
    const list = q.outcomes || [];
    $('outcome-title').textContent = t('outcome_title', { ticket: state.held.code });
    $('outcomes').replaceChildren(...list.map((o, i) =>
      choice(o.name + ' (' + o.code + ')', String(i + 1), () => { d.close(); finish(o.code); })));
    $('outcomes').hidden = !list.length;
    $('outcome-free').hidden = !(free || !list.length);
    $('outcome-none').hidden = !!q.outcome_required || free;
    if (!d.open) d.showModal();
    if (free) $('outcome-code').focus();
  }
  function openTransfer() {
    if (!state.held) return;
    const d = $('transfer-dialog');
    const s = state.status || {};
    let n = 0;
    $('transfer-title').textContent = t('transfer_title', { ticket: state.held.code });
    const transfer = (obj, to) => {
      d.close();
      run(Object.assign({ op: 'transfer' }, obj), r => {
        setHeld(null);
        say(t('msg_transferred', { ticket: r.ticket.code, to: to }));
      });
    };
    $('transfer-queues').replaceChildren(...(s.queues || []).map(q =>
      choice(q.code + ' ' + (q.name || ''), String(++n), () => transfer({ queue: q.code }, q.code))));
    $('transfer-counters').replaceChildren(...(s.counters || []).filter(c => c.name !== state.me).map(c =>
      choice(t('counter', { counter: c.name }) + (c.open ? '' : ' · ' + t('closed')), String(++n),
        () => transfer({ to_counter: c.name }, t('counter', { counter: c.name })))));
    d.showModal();
  }

  /* ---- rendering ------------------------------------------------------------------- */
  function fact(text, cls) {
    const li = document.createElement('li');
    li.textContent = text;
    if (cls) li.className = cls;
    return li;
  }
  function renderHeld() {
    const h = state.held;
    const card = $('held');
    card.classList.toggle('empty', !h);
    card.classList.toggle('serving', !!h && h.state === 'serving');
    card.classList.toggle('priority', !!h && !!h.priority);
    $('held-code').textContent = h ? h.code : t('none_held');
    $('held-state').textContent = h ? t('state_' + h.state) : '';
    const q = h && queueOf(h.queue);
    $('held-queue').textContent = h ? h.queue + (q && q.name ? ' · ' + q.name : '') : '';
    const facts = [];
    if (h) {
      if (h.priority) facts.push(fact(t('priority'), 'badge priority'));
      if (h.interpreter) facts.push(fact(t('interpreter', { lang: languageName(h.interpreter) }), 'badge interpreter'));
      if (h.lang) facts.push(fact(t('visitor_lang', { lang: languageName(h.lang) })));
      if (h.called_at && h.issued_at) {
        const waited = Math.max(0, Math.round((Date.parse(h.called_at) - Date.parse(h.issued_at)) / 60000));
        facts.push(fact(t('waited', { minutes: waited })));
        facts.push(fact(t('called_at', { time: hhmm(new Date(h.called_at)) })));
      }
      if (h.recalls > 0) facts.push(fact(t('recalls', { n: h.recalls + 1 })));
    }
    $('held-facts').replaceChildren(...facts);
    $('held-reason').hidden = !(h && state.reason);
    $('held-reason').textContent = h && state.reason ? t('reason', { reason: state.reason }) : '';
  }
  function renderQueues() {
    const c = myCounter();
    $('queues').replaceChildren(...(c ? c.queues || [] : []).map(code => {
      const q = queueOf(code) || { code: code, waiting: 0 };
      const li = document.createElement('li');
      li.dataset.queue = code;
      li.className = q.open === false ? 'closed' : '';
      const name = document.createElement('span');
      name.className = 'qname';
      name.textContent = code + (q.name ? ' · ' + q.name : '');
      const count = document.createElement('span');
      count.className = 'qcount';
      count.textContent = t('waiting', { n: q.waiting }) +
        (q.priority_waiting ? ' · ' + t('priority_waiting', { n: q.priority_waiting }) : '');
      const wait = document.createElement('span');
      wait.className = 'qwait';
      if (q.open === false) wait.textContent = t('queue_closed');
      else if (q.estimated_wait_s == null) wait.textContent = t('wait_unknown');
      else wait.textContent = t('wait', { minutes: Math.max(1, Math.ceil(q.estimated_wait_s / 60)) });
      li.append(name, count, wait);
      return li;
    }));
  }
  function renderParked() {
    const c = myCounter();
    const codes = c ? c.parked || [] : [];
    if (!codes.length) {
      $('parked').replaceChildren(fact(t('none_parked'), 'none'));
      return;
    }
    $('parked').replaceChildren(...codes.map(code => {
      const li = document.createElement('li');
      li.dataset.ticket = code;
      const span = document.createElement('span');
      span.className = 'pcode';
      span.textContent = code;
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'btn small call-back';
      b.textContent = t('call_back');
      b.addEventListener('click', () => callCode(code));
      li.append(span, b);
      return li;
    }));
  }
  function renderButtons() {
    const c = myCounter();
    const h = state.held;
    const st = h ? h.state : null;
    const ready = state.loaded && !state.fatal && !state.busy && !!c;
    const allowed = {
      call_next: !!c && c.open,
      recall: st === 'called',
      start: st === 'called',
      finish: st === 'called' || st === 'serving',
      no_show: st === 'called',
      park: st === 'called' || st === 'serving',
      transfer: st === 'called' || st === 'serving'
    };
    document.querySelectorAll('.actions [data-op]').forEach(b => {
      b.disabled = !ready || !allowed[b.dataset.op];
    });
    $('do-call').disabled = !ready || !c.open;
    $('do-reactivate').disabled = !ready;
    $('toggle-open').disabled = !ready;
    document.querySelectorAll('.call-back').forEach(b => { b.disabled = !ready || !c.open; });
  }
  function render() {
    if (!state.i18n[state.lang]) return;
    const c = myCounter();
    const s = state.status;
    $('office').textContent = s ? s.office_name || s.office : '';
    $('counter-name').textContent = state.me ? t('counter', { counter: state.me }) : '';
    $('open-state').textContent = c ? t(c.open ? 'open' : 'closed') : '';
    $('open-state').className = 'open-state ' + (c ? (c.open ? 'is-open' : 'is-closed') : '');
    $('toggle-open').querySelector('.label').textContent = c && c.open ? t('do_close') : t('do_open');
    renderHeld();
    renderQueues();
    renderParked();
    renderButtons();
  }

  /* ---- input ------------------------------------------------------------------------- */
  document.querySelectorAll('.actions [data-op]').forEach(b =>
    b.addEventListener('click', () => actions[b.dataset.op]()));
  $('toggle-open').addEventListener('click', toggleOpen);
  $('code-form').addEventListener('submit', e => {
    e.preventDefault();
    const code = typedCode();
    if (code) callCode(code, true);
  });
  $('do-reactivate').addEventListener('click', () => {
    const code = typedCode();
    if (code) reactivate(code);
  });
  $('outcome-none').addEventListener('click', () => { $('outcome-dialog').close(); finish(null); });
  $('outcome-free-ok').addEventListener('click', () => {
    const code = $('outcome-code').value.trim();
    if (!code) return;
    $('outcome-dialog').close();
    finish(code);
  });
  /* The keys shown on the buttons; digits pick in an open panel. */
  document.addEventListener('keydown', e => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
    const open = document.querySelector('dialog[open]');
    if (open) {
      if (/^[1-9]$/.test(e.key) && e.target.tagName !== 'INPUT') {
        const b = open.querySelectorAll('.choice')[Number(e.key) - 1];
        if (b) { e.preventDefault(); b.click(); }
      }
      return;
    }
    if (e.target.closest('input, textarea, select')) return;
    const b = document.querySelector('[data-key="' + e.key.toUpperCase() + '"]');
    if (b && !b.disabled) {
      e.preventDefault();
      b.click();
    }
  });

  /* ---- live --------------------------------------------------------------------------- */
  let refreshTimer = null;
  function refreshSoon() {
    /* A change comes as several events: one status for all of them. */
    if (!refreshTimer) refreshTimer = setTimeout(() => { refreshTimer = null; fetchStatus(); }, 50);
  }
  function setOnline(up) {
    state.connected = up;
    $('offline').hidden = up;
    document.body.classList.toggle('is-offline', !up);
  }
  /* kolappNodes retries, and moves to another daemon when this one dies. */
  function connect() {
    const events = {};
    ['called', 'issued', 'state', 'queue', 'counter', 'reset', 'message'].forEach(kind => {
      events[kind] = refreshSoon;
    });
    kolappNodes.stream('/api/events?token=' + encodeURIComponent(token), {
      open: () => { setOnline(true); fetchStatus(); },
      error: () => setOnline(false),
      events: events
    });
  }
  function tick() {
    const d = new Date();
    $('clock').textContent = hhmm(d);
    $('clock').dateTime = d.toISOString();
  }
  /* Estimates age without events, and no event says the database is back. */
  let lastPoll = 0;
  setInterval(() => {
    const now = Date.now();
    if (now - lastPoll >= (state.stale ? STALE_REFRESH_MS : REFRESH_MS)) {
      lastPoll = now;
      fetchStatus();
    }
  }, 1000);

  tick();
  setInterval(tick, 1000);
  setOnline(false);
  loadTexts().catch(() => {}).then(() => { fetchStatus(); connect(); });
})();
