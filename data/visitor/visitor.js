/* The visitor's own page, /t/<secret>: one ticket, live. The ticket comes
 * from the stream /t/<secret>/events (the whole ticket whenever it
 * changed, nothing about anyone else); when the stream cannot be had, the
 * page asks /t/<secret>/ticket, no faster than every 5 s, backing off.
 * When the ticket is called the page fills the screen with the counter,
 * vibrates and beeps where the phone allows. After the visit: thanks and
 * a one-tap rating. Texts from /t/i18n.json, in the ticket's language
 * unless the visitor picks another (?lang= too). */
'use strict';

(function () {
  const base = location.pathname.replace(/\/+$/, '');
  const params = new URLSearchParams(location.search);
  const $ = id => document.getElementById(id);
  const state = window.kolappVisitor = {
    ticket: null, office: null, lang: null, i18n: {}, gone: false, online: false,
    calledShownAt: null, updates: 0
  };
  let chosen = params.get('lang');
  let audio = null, lastCallKey = null, dismissedKey = null, pollTimer = null, pollDelay = 5000, es = null;

  function t(key, vars) {
    const l = state.i18n[state.lang] || {};
    const s = (key in l ? l[key] : null) ?? (state.i18n.en && state.i18n.en[key]) ?? key;
    return s.replace(/\{(\w+)\}/g, (m, k) => (vars && k in vars ? String(vars[k]) : m));
  }
  function languages() {
    return Object.keys(state.i18n).filter(k => k[0] !== '_');
  }
  function setLang(code) {
    state.lang = state.i18n[code] ? code : (state.i18n.sv ? 'sv' : languages()[0]);
    document.documentElement.lang = state.lang;
    document.documentElement.dir = state.i18n[state.lang].dir === 'rtl' ? 'rtl' : 'ltr';
    $('lang').value = state.lang;
    document.querySelectorAll('[data-i18n]').forEach(el => { el.textContent = t(el.dataset.i18n); });
    buildStars();
    render();
  }
  function languageName(code) {
    if (state.i18n[code]) return state.i18n[code].name;
    try {
      const n = new Intl.DisplayNames([state.lang], { type: 'language' }).of(code);
      return n || code;
    } catch (e) { return code; }
  }
  function waitText(tk) {
    const r = tk.estimated_wait_range_s;
    if (Array.isArray(r) && r.length === 2)
      return t('wait_range', { low: Math.round(r[0] / 60), high: Math.max(1, Math.round(r[1] / 60)) });
    if (typeof tk.estimated_wait_s === 'number')
      return t('wait', { minutes: Math.max(1, Math.round(tk.estimated_wait_s / 60)) });
    return '';
  }
  function queueName(tk) {
    const tx = tk.queue_texts && tk.queue_texts[state.lang];
    return tx ? tx.name : tk.queue_name || tk.queue;
  }

  function buildStars() {
    const box = $('stars');
    box.textContent = '';
    for (let n = 1; n <= 5; n++) {
      const b = document.createElement('button');
      b.type = 'button';
      b.dataset.rating = n;
      const big = document.createElement('span');
      big.className = 'n';
      big.textContent = String(n);
      const small = document.createElement('span');
      small.textContent = t('rating_' + n);
      b.append(big, small);
      b.addEventListener('click', () => rate(n));
      box.append(b);
    }
  }

  function render() {
    const tk = state.ticket;
    if (state.gone) {
      $('gone').hidden = false;
      $('called').hidden = true;
      return;
    }
    if (!tk) return;
    $('office').textContent = state.officeName || '';
    $('code').textContent = tk.code;
    $('queue').textContent = queueName(tk);
    let status = '', detail = '';
    switch (tk.state) {
    case 'waiting':
      if (tk.appointment) {
        /* Booked: called at its time, not by its place in line. */
        const at = new Date(tk.appointment);
        status = t('v_appointment', {
          time: at.toLocaleTimeString(state.lang, { hour: '2-digit', minute: '2-digit' })
        });
        break;
      }
      status = tk.position === 1 ? t('v_next') : t('position', { n: tk.position });
      detail = waitText(tk) ? t('estimate', { wait: waitText(tk) }) : '';
      break;
    case 'called': status = t('v_called', { counter: tk.counter }); break;
    case 'serving': status = t('v_serving', { counter: tk.counter }); break;
    case 'parked': status = t('v_parked'); break;
    case 'done': status = t('v_done'); break;
    case 'no_show': status = t('v_no_show'); break;
    case 'cancelled': status = t('v_cancelled'); break;
    default: status = t('v_expired');
    }
    if (tk.interpreter && tk.state !== 'done')
      detail = (detail ? detail + ' · ' : '') + t('interpreter', { lang: languageName(tk.interpreter) });
    $('status').textContent = status;
    $('detail').textContent = detail;
    $('rate').hidden = !(tk.state === 'done' && !tk.rated);
    $('rated').hidden = !(tk.state === 'done' && tk.rated);
    /* Until the visitor taps it away; a recall brings it back. */
    const called = tk.state === 'called' && dismissedKey !== tk.called_at + '/' + tk.recalls;
    $('called').hidden = !called;
    if (called) {
      $('called-code').textContent = tk.code;
      $('called-text').textContent = t('v_called', { counter: tk.counter });
    }
  }

  /* A new call (or a recall) of this ticket: once per call. */
  function noticeCall(tk) {
    if (tk.state !== 'called') return;
    const key = tk.called_at + '/' + tk.recalls;
    if (key === lastCallKey) return;
    lastCallKey = key;
    state.calledShownAt = Date.now();
    try { if (navigator.vibrate) navigator.vibrate([400, 200, 400, 200, 400]); } catch (e) { /* not allowed */ }
    beep();
  }
  function beep() {
    if (!audio) return;
    try {
      const o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = 880;
      g.gain.setValueAtTime(0.3, audio.currentTime);
      g.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 1.2);
      o.connect(g).connect(audio.destination);
      o.start();
      o.stop(audio.currentTime + 1.2);
    } catch (e) { /* no sound then */ }
  }

  function take(data) {
    if (!data || !data.ticket) return;
    const first = !state.ticket;
    state.ticket = data.ticket;
    state.officeName = data.office_name;
    state.updates++;
    if (first && !chosen) setLang(data.ticket.lang || 'sv');
    noticeCall(data.ticket);
    render();
  }
  function goneForGood() {
    state.gone = true;
    if (es) es.close();
    clearTimeout(pollTimer);
    render();
  }
  function setOnline(on) {
    state.online = on;
    $('offline').hidden = on;
  }

  /* The fallback when the stream cannot be had: polling, 5 s and up. */
  async function poll() {
    try {
      const r = await kolappNodes.read(base + '/ticket', { cache: 'no-store' });
      if (r.status === 404) return goneForGood();
      if (r.ok) {
        take(await r.json());
        setOnline(true);
        pollDelay = 5000;
      }
    } catch (e) {
      setOnline(false);
      pollDelay = Math.min(pollDelay * 2, 60000);
    }
    pollTimer = setTimeout(connect, pollDelay);
  }
  function connect() {
    if (state.gone) return;
    if (!window.EventSource) return poll();
    /* The browser retries by itself (and kolappNodes moves the stream to
     * another daemon when this one dies); a refused stream (404) it does
     * not: then ask whether the ticket is still there. */
    es = kolappNodes.stream(base + '/events', {
      open: () => setOnline(true),
      error: () => setOnline(false),
      refused: () => { es = null; poll(); },
      events: {
        ticket: ev => { setOnline(true); take(JSON.parse(ev.data)); },
        gone: goneForGood
      }
    });
  }

  async function rate(n) {
    document.querySelectorAll('#stars button').forEach(b => { b.disabled = true; });
    try {
      const r = await kolappNodes.send(base + '/rating', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ rating: n })
      });
      const j = await r.json();
      if (j.ok || (j.error && j.error.code === 'conflict')) {
        state.ticket.rated = true;
        render();
        return;
      }
    } catch (e) { /* try again */ }
    document.querySelectorAll('#stars button').forEach(b => { b.disabled = false; });
  }

  $('sound').addEventListener('click', () => {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      audio.resume();
      beep();
    } catch (e) { /* no sound */ }
    try { if (navigator.vibrate) navigator.vibrate(200); } catch (e) { /* no vibration */ }
    $('sound').hidden = true;
  });
  $('lang').addEventListener('change', () => { chosen = $('lang').value; setLang(chosen); });
  $('called').addEventListener('click', () => {
    if (state.ticket) dismissedKey = state.ticket.called_at + '/' + state.ticket.recalls;
    render();
  });

  fetch('/t/i18n.json', { cache: 'no-cache' }).then(r => r.json()).then(j => {
    state.i18n = j;
    const sel = $('lang');
    for (const code of languages()) {
      const o = document.createElement('option');
      o.value = code;
      o.textContent = j[code].name;
      sel.append(o);
    }
    setLang(chosen || 'sv');
  }).catch(() => {}).then(connect);
})();
