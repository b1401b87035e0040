/* The visitors' touch kiosk. Language, then agency (the queue's name and
 * description in that language, from kolapp.set_queue_text, with how many
 * wait and for how long), then "Do you need an interpreter?", then the
 * ticket (POST /api/op issue, one idempotency key per visitor's choice, so
 * a double tap is one ticket) and its receipt, printed with the browser's
 * print (Chromium --kiosk-printing prints without a dialog). Also "I have
 * an appointment" (check_in with the booking code) and "I missed my call"
 * (reactivate). After `idle` seconds without a touch (30; ?idle=N) it
 * goes back to the start and forgets everything of the last visitor.
 * URL: /kiosk?token=KIOSK_TOKEN[&lang=so][&idle=30][&paper=80|58][&print=0]
 * Texts: /kiosk/i18n.json (data/i18n/visitors.json), shown in the
 * visitor's language and, on the receipt, in Swedish too. */
'use strict';

(function () {
  const params = new URLSearchParams(location.search);
  const token = params.get('token') || '';
  const idleS = Math.max(1, Number(params.get('idle')) || 30);
  const autoPrint = params.get('print') !== '0';
  const BOOKING_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
  const STATUS_REFRESH_MS = 10000;
  const $ = id => document.getElementById(id);

  /* For tests and for anyone looking at a kiosk on site. */
  const state = window.kolappKiosk = {
    screen: 'lang', lang: params.get('lang') || 'sv', i18n: {}, status: null, queue: null,
    interpreter: null, key: null, busy: false, ticket: null, visitorPath: null, url: null,
    mode: null, entry: '', issued: 0, resets: 0, error: null
  };
  let idleTimer = null, statusTimer = null;

  /* ---- texts ------------------------------------------------------------ */
  function tl(lang, key, vars) {
    const l = state.i18n[lang] || {};
    const s = (key in l ? l[key] : null) ?? (state.i18n.en && state.i18n.en[key]) ?? key;
    return s.replace(/\{(\w+)\}/g, (m, k) => (vars && k in vars ? String(vars[k]) : m));
  }
  const t = (key, vars) => tl(state.lang, key, vars);
  const languages = () => Object.keys(state.i18n).filter(k => k[0] !== '_');
  const langName = code => (state.i18n[code] ? state.i18n[code].name : code);
  function applyLang() {
    const l = state.i18n[state.lang] || {};
    document.documentElement.lang = state.lang;
    document.documentElement.dir = l.dir === 'rtl' ? 'rtl' : 'ltr';
    document.querySelectorAll('[data-i18n]').forEach(el => { el.textContent = t(el.dataset.i18n); });
  }
  function waitText(lang, secs, range) {
    if (Array.isArray(range) && range.length === 2)
      return tl(lang, 'wait_range', { low: Math.round(range[0] / 60), high: Math.max(1, Math.round(range[1] / 60)) });
    if (typeof secs === 'number') return tl(lang, 'wait', { minutes: Math.max(1, Math.round(secs / 60)) });
    return '';
  }
  function queueText(q, lang) {
    const tx = q.texts && q.texts[lang];
    return { name: tx ? tx.name : q.name, description: tx ? tx.description : '' };
  }

  /* ---- messages ------------------------------------------------------------ */
  function say(text, isError) {
    state.error = isError ? text : null;
    const m = $('message');
    m.textContent = text || '';
    m.className = 'message' + (isError ? ' error' : '');
  }

  /* ---- screens ----------------------------------------------------------- */
  function show(screen) {
    state.screen = screen;
    for (const s of ['lang', 'queue', 'interp', 'code', 'done'])
      $('s-' + s).hidden = s !== screen;
    $('restart').hidden = screen === 'lang';
    clearInterval(statusTimer);
    statusTimer = null;
    if (screen === 'queue') statusTimer = setInterval(fetchStatus, STATUS_REFRESH_MS);
    const h = $('s-' + screen).querySelector('h1');
    if (h) { h.tabIndex = -1; h.focus({ preventScroll: true }); }
  }

  /* Back to the start: nothing of the last visitor stays on screen. */
  function reset() {
    state.queue = state.interpreter = state.key = state.ticket = null;
    state.visitorPath = state.url = state.mode = null;
    state.entry = '';
    state.busy = false;
    state.resets++;
    $('receipt').textContent = '';
    $('done-title').textContent = '';
    $('code-entry').textContent = '';
    say('');
    state.lang = params.get('lang') || 'sv';
    applyLang();
    renderLangs();
    show('lang');
  }
  function touched() {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => { if (state.screen !== 'lang' || state.error) reset(); }, idleS * 1000);
  }

  function renderLangs() {
    /* The question in every language of the file, each in its own script. */
    $('lang-title').textContent = languages().map(l => tl(l, 'choose_language'))
      .filter((s, i, a) => a.indexOf(s) === i).slice(0, 2).join(' · ');
    const box = $('langs');
    box.textContent = '';
    for (const code of languages()) {
      const b = document.createElement('button');
      b.type = 'button';
      b.lang = code;
      b.dir = state.i18n[code].dir === 'rtl' ? 'rtl' : 'ltr';
      b.dataset.lang = code;
      b.textContent = state.i18n[code].name;
      b.addEventListener('click', () => chooseLang(code));
      box.append(b);
    }
  }
  function chooseLang(code) {
    state.lang = code;
    applyLang();
    say('');
    renderQueues();
    show('queue');
    fetchStatus();
  }

  function renderQueues() {
    const box = $('queues');
    box.textContent = '';
    const st = state.status;
    $('office').textContent = st ? st.office_name || st.office : '';
    if (!st) return;
    for (const q of st.queues) {
      const tx = queueText(q, state.lang);
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'queue';
      b.dataset.queue = q.code;
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = tx.name;
      const desc = document.createElement('span');
      desc.className = 'desc';
      desc.textContent = tx.description;
      const count = document.createElement('span');
      count.className = 'count';
      // Open but outside its ticket hours (issuing false) is closed here too.
      if (!q.open || q.issuing === false) {
        b.disabled = true;
        b.setAttribute('aria-disabled', 'true');
        count.textContent = t('closed');
      } else {
        const w = waitText(state.lang, q.estimated_wait_s, q.estimated_wait_range_s);
        count.textContent = t('waiting', { n: q.waiting }) + (w ? ' · ' + w : '');
      }
      b.append(name, desc, count);
      b.addEventListener('click', () => chooseQueue(q));
      box.append(b);
    }
  }
  async function fetchStatus() {
    try {
      const r = await kolappNodes.read('/api/status?token=' + encodeURIComponent(token), { cache: 'no-store' });
      if (r.status === 401) { fatal('401'); return; }
      if (!r.ok) return;
      state.status = await r.json();
      if (state.screen === 'queue' || state.screen === 'lang') renderQueues();
    } catch (e) { /* shown when the visitor acts */ }
  }
  function fatal(what) {
    $('fatal').textContent = 'kolapp: ' + what;
    $('fatal').hidden = false;
  }

  function chooseQueue(q) {
    state.queue = q;
    state.interpreter = null;
    /* One key per visitor's choice: every tap until the answer (and a
     * retry after a lost answer) is the same ticket. */
    const rnd = new Uint8Array(12);
    crypto.getRandomValues(rnd);
    state.key = 'kiosk-' + Array.from(rnd, b => b.toString(16).padStart(2, '0')).join('');
    $('interp-queue').textContent = queueText(q, state.lang).name;
    $('btn-interp-yes').textContent = t('interpreter_yes', { lang: langName(state.lang) });
    const box = $('interp-langs');
    box.textContent = '';
    for (const code of languages()) {
      if (code === state.lang) continue;
      const b = document.createElement('button');
      b.type = 'button';
      b.lang = code;
      b.dataset.lang = code;
      b.textContent = state.i18n[code].name;
      b.addEventListener('click', () => issue(code));
      box.append(b);
    }
    say('');
    show('interp');
  }

  /* ---- the protocol ---------------------------------------------------------- */
  /* Never sent again by itself (kolappNodes.send): the visitor's next tap
   * is, with the same key, so a lost answer makes no second ticket. */
  async function op(body) {
    const r = await kolappNodes.send('/api/op?token=' + encodeURIComponent(token), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body)
    });
    if (r.status === 401) fatal('401');
    return r.json();
  }

  async function issue(interpreter) {
    if (state.busy || !state.queue) return; /* the second tap of a double tap */
    state.busy = true;
    state.interpreter = interpreter;
    say(t('busy'));
    const req = { op: 'issue', queue: state.queue.code, key: state.key, lang: state.lang };
    if (interpreter) req.interpreter = interpreter;
    try {
      const j = await op(req);
      if (!j.ok) { say(t('error', { message: j.error.message }), true); return; }
      state.issued++;
      await showTicket(j.ticket, j.visitor_path, t('take_receipt'));
    } catch (e) {
      say(t('error_network'), true);
    } finally {
      state.busy = false;
    }
  }

  async function showTicket(ticket, path, title) {
    state.ticket = ticket;
    state.visitorPath = path || null;
    state.url = path ? location.origin + path : null;
    if (path) {
      try {
        const r = await kolappNodes.read(path + '/ticket', { cache: 'no-store' });
        if (r.ok) state.url = (await r.json()).url || state.url;
      } catch (e) { /* the origin's URL then */ }
    }
    say('');
    $('done-title').textContent = title;
    await renderReceipt();
    show('done');
    fitPage($('receipt')); /* measured once shown */
    if (autoPrint) setTimeout(() => window.print(), 50);
  }

  /* ---- the receipt ---------------------------------------------------------- */
  /* The QR code from the daemon in use: from another than the page's
   * own, as a data: URL (the page's images come from its own origin). */
  async function qrSource(path) {
    const at = kolappNodes.url(path);
    if (at.startsWith('/')) return at;
    try {
      const r = await kolappNodes.read(path, { cache: 'no-store' });
      if (r.ok) return 'data:image/svg+xml,' + encodeURIComponent(await r.text());
    } catch (e) { /* the receipt without its code then */ }
    return at;
  }
  function para(cls, text, lang) {
    const p = document.createElement('p');
    p.className = cls;
    p.textContent = text;
    if (lang) {
      p.lang = lang;
      p.dir = state.i18n[lang] && state.i18n[lang].dir === 'rtl' ? 'rtl' : 'ltr';
    }
    return p;
  }
  /* A line in the visitor's language, and in Swedish under it. */
  function both(cls, key, vars) {
    const frag = document.createDocumentFragment();
    frag.append(para(cls, t(key, vars), state.lang));
    if (state.lang !== 'sv') frag.append(para(cls + ' r-sv', tl('sv', key, vars), 'sv'));
    return frag;
  }
  async function renderReceipt() {
    const tk = state.ticket, box = $('receipt');
    const q = (state.status && state.status.queues.find(x => x.code === tk.queue)) || { code: tk.queue, name: tk.queue };
    const now = new Date(tk.issued_at || Date.now());
    const pad = n => String(n).padStart(2, '0');
    const when = now.getFullYear() + '-' + pad(now.getMonth() + 1) + '-' + pad(now.getDate()) +
      ' ' + pad(now.getHours()) + ':' + pad(now.getMinutes());
    box.textContent = '';
    box.append(para('r-office', state.status ? state.status.office_name || state.status.office : ''));
    box.append(para('r-queue', queueText(q, state.lang).name, state.lang));
    if (state.lang !== 'sv' && queueText(q, 'sv').name !== queueText(q, state.lang).name)
      box.append(para('r-queue r-sv', queueText(q, 'sv').name, 'sv'));
    box.append(both('r-label', 'your_number'));
    const code = para('r-code', tk.code);
    code.dir = 'ltr';
    box.append(code);
    if (tk.state === 'waiting' && tk.position) box.append(both('r-line', 'position', { n: tk.position }));
    const w = waitText(state.lang, tk.estimated_wait_s, tk.estimated_wait_range_s);
    if (w) {
      box.append(para('r-line', t('estimate', { wait: w }), state.lang));
      if (state.lang !== 'sv')
        box.append(para('r-line r-sv', tl('sv', 'estimate', { wait: waitText('sv', tk.estimated_wait_s, tk.estimated_wait_range_s) }), 'sv'));
    }
    if (tk.interpreter) {
      box.append(para('r-line', t('interpreter', { lang: langName(tk.interpreter) }), state.lang));
      if (state.lang !== 'sv') box.append(para('r-line r-sv', tl('sv', 'interpreter', { lang: langName(tk.interpreter) }), 'sv'));
    }
    if (state.visitorPath) {
      const img = document.createElement('img');
      img.className = 'r-qr';
      img.alt = state.url;
      img.src = await qrSource(state.visitorPath + '/qr.svg');
      const loaded = new Promise(res => { img.onload = img.onerror = res; });
      box.append(img);
      box.append(both('r-line r-small', 'scan_qr'));
      box.append(para('r-url', state.url));
      await loaded; /* printed with its QR code, not before */
    }
    box.append(para('r-line', tl(state.lang, 'issued_at', { time: when }), state.lang));
  }
  /* One page as long as the receipt: a roll has no page length, and a
   * fixed one either cuts a long receipt in two or wastes paper. The
   * preview on screen has the printed width, so its height is the
   * printed height, give or take the wrapping of a line or two (10 mm
   * spare). (CSSOM, which the page's CSP allows.) */
  let pageRule = null;
  function fitPage(box) {
    /* The last sheet (receipt58.css when loaded), so that this rule wins. */
    if (pageRule) { pageRule.sheet.deleteRule(pageRule.index); pageRule = null; }
    const sheet = document.styleSheets[document.styleSheets.length - 1];
    if (!sheet) return;
    const r = box.getBoundingClientRect();
    if (!r.width || !r.height) return;
    const mm = px => Math.ceil(px * 25.4 / 96);
    const index = sheet.insertRule(`@page { size: ${mm(r.width)}mm ${mm(r.height) + 10}mm; margin: 0; }`,
      sheet.cssRules.length);
    pageRule = { sheet, index };
  }

  /* ---- codes: appointment and missed call ---------------------------------------- */
  function openCode(mode) {
    state.mode = mode;
    state.entry = '';
    $('code-entry').textContent = '';
    $('code-title').textContent = t(mode === 'booking' ? 'booking_enter' : 'missed_enter');
    const keys = mode === 'booking' ? BOOKING_ALPHABET.split('')
      : Array.from(new Set((state.status ? state.status.queues.map(q => q.code) : []).join('').split('')))
        .concat('0123456789'.split(''), ['-']);
    const pad = $('keypad');
    pad.textContent = '';
    for (const k of keys) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = k;
      b.dataset.key = k;
      b.addEventListener('click', () => typeKey(k));
      pad.append(b);
    }
    say('');
    show('code');
  }
  function typeKey(k) {
    const max = state.mode === 'booking' ? 8 : 12;
    if (state.entry.length >= max) return;
    state.entry += k;
    $('code-entry').textContent = state.entry;
  }
  async function sendCode() {
    if (state.busy || !state.entry) return;
    state.busy = true;
    let req;
    if (state.mode === 'booking') {
      req = { op: 'check_in', booking: state.entry };
    } else {
      /* "S42" is S-042 to a person: the dash is optional. */
      const m = /^([A-Z]+)-?(\d+)$/.exec(state.entry);
      req = { op: 'reactivate', ticket: m ? m[1] + '-' + m[2] : state.entry };
    }
    say(t('busy'));
    try {
      const j = await op(req);
      if (!j.ok) { say(t('error', { message: j.error.message }), true); return; }
      const title = t(state.mode === 'booking' ? 'checked_in' : 'reactivated');
      if (j.ticket) await showTicket(j.ticket, j.visitor_path, title);
      else { say(title); }
    } catch (e) {
      say(t('error_network'), true);
    } finally {
      state.busy = false;
    }
  }

  /* ---- wiring ------------------------------------------------------------ */
  $('btn-interp-yes').addEventListener('click', () => issue(state.lang));
  $('btn-interp-no').addEventListener('click', () => issue(null));
  $('btn-appointment').addEventListener('click', () => openCode('booking'));
  $('btn-missed').addEventListener('click', () => openCode('ticket'));
  $('btn-erase').addEventListener('click', () => {
    state.entry = state.entry.slice(0, -1);
    $('code-entry').textContent = state.entry;
  });
  $('btn-send').addEventListener('click', sendCode);
  $('btn-done').addEventListener('click', reset);
  $('restart').addEventListener('click', reset);
  document.querySelectorAll('[data-back]').forEach(b => b.addEventListener('click', () => {
    say('');
    show(b.dataset.back);
  }));
  for (const ev of ['pointerdown', 'keydown', 'touchstart'])
    document.addEventListener(ev, touched, { passive: true });

  if (params.get('paper') === '58') {
    const l = document.createElement('link');
    l.rel = 'stylesheet';
    l.href = '/kiosk/receipt58.css';
    document.head.append(l);
  }
  fetch('/kiosk/i18n.json', { cache: 'no-cache' }).then(r => r.json()).then(j => {
    state.i18n = j;
    if (!j[state.lang]) state.lang = 'sv';
    applyLang();
    renderLangs();
    show('lang');
    state.loaded = true;
  }).catch(() => fatal('i18n')).then(fetchStatus);
})();
