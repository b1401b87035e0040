/* The waiting-room board. Loads the office's status, then follows its
 * events with EventSource (which reconnects by itself and resumes with
 * Last-Event-ID; kolappNodes moves it to another daemon when its own
 * dies); after every (re)connection the status is fetched again
 * so that nothing missed while offline stays wrong on the screen.
 * URL: /board?token=DISPLAY_TOKEN[&lang=sv,en][&speech=0][&numbers=digits]
 * (numbers: how a ticket's number is spoken, "S 42" by default, "S 4 2"
 * with digits, for offices whose visitors read their tickets so). Every
 * call is shown and announced, in the order the calls were committed,
 * each with its code and counter: the speech engine queues them. 
 * Every text comes from i18n.json: adding a language is adding an entry. */
'use strict';

(function () {
  const params = new URLSearchParams(location.search);
  const token = params.get('token') || '';
  const langs = (params.get('lang') || 'sv,en').split(',').map(s => s.trim()).filter(Boolean);
  const speechOn = params.get('speech') !== '0';
  const numbersAsDigits = params.get('numbers') === 'digits';
  const ROTATE_MS = 10000;
  const RECENT_MAX = 6;

  const $ = id => document.getElementById(id);
  /* For tests and for anyone debugging a board on site. */
  const state = window.kolappBoard = {
    connected: false, chimes: 0, calls: 0, spoken: [], langs: [], i18n: {},
    queues: new Map(), recent: [], lang: 0
  };

  /* ---- texts ---------------------------------------------------------- */
  function text(lang, key, vars) {
    const t = (state.i18n[lang] && state.i18n[lang][key]) || (state.i18n.en && state.i18n.en[key]) || '';
    return t.replace(/\{(\w+)\}/g, (m, k) => (vars && k in vars ? String(vars[k]) : m));
  }
  /* "soon" for the next few minutes; a range when the model is unsure
   * by five minutes or more; else "about N min". Never a precise-looking
   * number the estimate cannot back. */
  function waitText(lang, est, range) {
    if (est == null) return text(lang, 'wait_unknown');
    if (est < 180) return text(lang, 'wait_soon');
    if (Array.isArray(range) && range[1] - range[0] >= 300) {
      const low = Math.max(1, Math.floor(range[0] / 300) * 5), high = Math.ceil(range[1] / 300) * 5;
      if (high > low) return text(lang, 'wait_range', { low, high });
    }
    return text(lang, 'wait', { minutes: Math.max(1, Math.round(est / 60)) });
  }
  window.kolappWaitText = waitText;

  function currentLang() { return state.langs[state.lang % state.langs.length]; }
  function dirOf(lang) { return (state.i18n[lang] && state.i18n[lang].dir) === 'rtl' ? 'rtl' : 'ltr'; }

  /* Every element showing a text carries that text's language and
   * direction, so a right-to-left text is laid out right to left even
   * while the rest of the board is in another language. */
  function applyTexts() {
    const lang = currentLang();
    document.querySelectorAll('[data-i18n]').forEach(el => {
      el.textContent = text(lang, el.dataset.i18n);
      el.lang = lang;
      el.dir = dirOf(lang);
    });
    renderQueues();
  }

  async function loadTexts() {
    const r = await fetch('/board/i18n.json', { cache: 'no-cache' });
    state.i18n = await r.json();
    state.langs = langs.filter(l => state.i18n[l]);
    if (!state.langs.length) state.langs = ['sv', 'en'].filter(l => state.i18n[l]);
    /* The page's own direction follows the first language. */
    document.documentElement.lang = state.langs[0];
    document.documentElement.dir = dirOf(state.langs[0]);
    applyTexts();
    if (state.langs.length > 1)
      setInterval(() => { state.lang++; applyTexts(); }, ROTATE_MS);
  }

  /* ---- clock ------------------------------------------------------------ */
  function tick() {
    const d = new Date();
    const p = n => String(n).padStart(2, '0');
    $('clock').textContent = p(d.getHours()) + ':' + p(d.getMinutes());
    $('clock').dateTime = d.toISOString();
  }

  /* ---- sound and speech ------------------------------------------------- */
  let audio = null;
  function audioContext() {
    if (!audio && (window.AudioContext || window.webkitAudioContext))
      audio = new (window.AudioContext || window.webkitAudioContext)();
    return audio;
  }
  /* Two falling tones, generated: no audio file to ship or load. */
  function chime() {
    state.chimes++;
    const ctx = audioContext();
    if (!ctx) return;
    if (ctx.state === 'suspended') ctx.resume().catch(() => {});
    const t0 = ctx.currentTime + 0.02;
    [[880, 0], [660, 0.35]].forEach(([freq, at]) => {
      const osc = ctx.createOscillator(), gain = ctx.createGain();
      osc.type = 'sine';
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, t0 + at);
      gain.gain.exponentialRampToValueAtTime(0.5, t0 + at + 0.03);
      gain.gain.exponentialRampToValueAtTime(0.0001, t0 + at + 0.6);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t0 + at);
      osc.stop(t0 + at + 0.65);
    });
  }
  /* "S-042" is read "S 42": letters one by one, the number without zeros
   * (or digit by digit, "S 4 2", with &numbers=digits). */
  function spokenTicket(code) {
    const m = /^([^-]+)-0*(\d+)$/.exec(code || '');
    if (!m) return code || '';
    return m[1].split('').join(' ') + ' ' + (numbersAsDigits ? m[2].split('').join(' ') : m[2]);
  }
  window.kolappSpokenTicket = spokenTicket;
  function announce(ticket, counter) {
    state.langs.forEach(lang => {
      const line = text(lang, 'announce', { ticket: spokenTicket(ticket), counter: counter });
      state.spoken.push({ lang: lang, text: line });
      if (state.spoken.length > 20) state.spoken.shift();
      if (!speechOn || !window.speechSynthesis) return;
      const u = new SpeechSynthesisUtterance(line);
      u.lang = (state.i18n[lang] && state.i18n[lang].voice) || lang;
      window.speechSynthesis.speak(u);
    });
  }
  $('sound').addEventListener('click', () => {
    const ctx = audioContext();
    if (ctx) ctx.resume().then(() => { $('sound').hidden = true; }, () => {});
  });

  /* ---- rendering ---------------------------------------------------------- */
  function showLatest(call, flash) {
    $('latest-ticket').textContent = call ? call.ticket : '–';
    $('latest-counter').textContent = call ? call.counter : '';
    /* The call's type size depends on its length (board.css). */
    const lens = $('latest').querySelector('.call').style;
    lens.setProperty('--ticket-chars', String(Math.max(5, call ? call.ticket.length : 0)));
    lens.setProperty('--counter-chars', String(Math.max(2, call ? String(call.counter).length : 0)));
    $('recall').hidden = !(call && call.recalls > 0);
    if (flash) {
      const el = $('latest');
      el.classList.remove('flash');
      void el.offsetWidth; /* restart the animation on a recall too */
      el.classList.add('flash');
    }
  }
  function renderRecent() {
    const ol = $('recent');
    ol.replaceChildren(...state.recent.slice(0, RECENT_MAX).map(c => {
      const li = document.createElement('li');
      li.dir = 'ltr';
      const t = document.createElement('span');
      t.textContent = c.ticket;
      const n = document.createElement('span');
      n.className = 'rc';
      n.textContent = '→ ' + c.counter;
      li.append(t, n);
      return li;
    }));
  }
  function renderQueues() {
    const lang = currentLang();
    if (!lang) return;
    const ul = $('queues');
    ul.style.setProperty('--n', String(Math.max(1, state.queues.size)));
    ul.replaceChildren(...[...state.queues.values()].map(q => {
      const li = document.createElement('li');
      // Outside its ticket hours (issuing false) a queue takes no one new:
      // closed once its room is empty; while people wait, their wait.
      const closed = !q.open || (q.issuing === false && !q.waiting);
      li.className = closed ? 'closed' : '';
      li.dataset.queue = q.code;
      const code = document.createElement('span');
      code.className = 'qcode';
      code.textContent = q.code;
      const name = document.createElement('span');
      name.className = 'qname';
      name.textContent = q.name || '';
      const count = document.createElement('span');
      count.className = 'qcount';
      count.textContent = q.waiting + ' ' + text(lang, 'waiting');
      count.lang = lang;
      count.dir = dirOf(lang);
      const wait = document.createElement('span');
      wait.className = 'qwait';
      wait.lang = lang;
      wait.dir = dirOf(lang);
      if (closed) wait.textContent = text(lang, 'closed');
      else wait.textContent = waitText(lang, q.estimated_wait_s, q.estimated_wait_range_s);
      li.append(code, name, count, wait);
      return li;
    }));
  }
  function applyStatus(s) {
    $('office').textContent = s.office_name || s.office || '';
    state.queues = new Map((s.queues || []).map(q => [q.code, q]));
    state.recent = (s.recent || []).map(c => ({ ticket: c.ticket, counter: c.counter, at: c.at }));
    $('stale').hidden = !s.stale;
    const first = state.recent[0];
    showLatest(first ? { ticket: first.ticket, counter: first.counter,
                         recalls: state.recent.filter(c => c.ticket === first.ticket).length - 1 } : null, false);
    renderRecent();
    renderQueues();
  }

  /* ---- the server ---------------------------------------------------------- */
  let statusSeq = 0, eventSeq = 0;
  async function fetchStatus(tries) {
    const seq = ++statusSeq, events = eventSeq;
    tries = tries || 0;
    try {
      const r = await kolappNodes.read('/api/status?token=' + encodeURIComponent(token), { cache: 'no-store' });
      if (!r.ok) throw new Error('status ' + r.status);
      const s = await r.json();
      if (seq !== statusSeq) return;
      /* An event that came while the status was on its way may be newer
       * than it: ask again rather than show the older picture. */
      if (events !== eventSeq && tries < 3) { fetchStatus(tries + 1); return; }
      applyStatus(s);
    } catch (e) {
      /* The event stream's state drives the banner; a failed fetch is retried on reconnect. */
    }
  }

  function onCalled(ev) {
    eventSeq++;
    state.calls++;
    state.recent.unshift({ ticket: ev.ticket, counter: ev.counter, at: ev.at });
    state.recent.length = Math.min(state.recent.length, 10);
    showLatest(ev, true);
    renderRecent();
    chime();
    announce(ev.ticket, ev.counter);
  }

  function setOnline(up) {
    state.connected = up;
    $('offline').hidden = up;
    document.body.classList.toggle('is-offline', !up);
  }
  const parse = e => { try { return JSON.parse(e.data); } catch (x) { return null; } };
  function onQueue(e) {
    const ev = parse(e);
    if (!ev) return;
    eventSeq++;
    const q = state.queues.get(ev.queue);
    if (q) {
      q.open = ev.open; q.waiting = ev.waiting; q.estimated_wait_s = ev.estimated_wait_s;
      q.estimated_wait_range_s = ev.estimated_wait_range_s;
      renderQueues();
    } else {
      fetchStatus();
    }
  }
  function connect() {
    kolappNodes.stream('/api/events?token=' + encodeURIComponent(token), {
      open: () => { setOnline(true); fetchStatus(); },
      error: () => setOnline(false),
      events: {
        called: e => { const ev = parse(e); if (ev) onCalled(ev); },
        queue: onQueue,
        reset: () => fetchStatus()
      }
    });
  }

  tick();
  setInterval(tick, 1000);
  /* Estimates age even without events. */
  setInterval(fetchStatus, 60000);
  setOnline(false);
  /* Made now, not at the first call: creating it can block the page for
   * a moment, and a suspended one (no user gesture yet) shows the button. */
  const ctx = audioContext();
  if (ctx) {
    $('sound').hidden = ctx.state !== 'suspended';
    ctx.onstatechange = () => { $('sound').hidden = ctx.state !== 'suspended'; };
  }
  loadTexts().catch(() => {}).then(() => { fetchStatus(); connect(); });
})();
