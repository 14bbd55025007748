// Reps' calls: the prospect's words, settled by the speech-to-text, → the
// objection card rendered in the rep's browser, with N rep calls at once.
//
//   node scripts/rep-call-bench.mjs <base url> <owner cookie> <stt port> [calls=50] [rounds=30] [pages=5]
//
// The server runs with Deepgram's address pointing at this script's own
// stand-in (a WebSocket server on <stt port> speaking Deepgram's live wire
// format), so the clock starts the moment the "STT final" leaves it. N reps
// (invited, each signed in) each call a prospect from the copilot (the
// LiveKit stand-in of mock-vendors answers); each call's two sides reach
// the server as the session's stereo feed (`…/audio?channels=2`, the
// transcriber a rep's call runs), the prospect's channel marked so the
// stand-in knows which call a connection carries. Every round, the stand-in
// settles one objection on each call's prospect side, spread over 2 s;
// `pages` of the reps watch in Chromium (a MutationObserver stamps each new
// card), the others through the session's event stream as a page would.
// Clocks: `performance.timeOrigin + performance.now()` in Node and in the
// pages — one machine, one clock.
import { chromium } from '@playwright/test';
import WebSocket, { WebSocketServer } from 'ws';

const [base, ownerCookie, sttPortArg, nArg = '50', roundsArg = '30', pagesArg = '5'] = process.argv.slice(2);
if (!base || !ownerCookie || !sttPortArg) {
  console.error('usage: rep-call-bench.mjs <base url> <owner cookie> <stt port> [calls] [rounds] [pages]');
  process.exit(2);
}
const CALLS = Number(nArg);
const ROUNDS = Number(roundsArg);
const PAGES = Math.min(Number(pagesArg), CALLS);
const now = () => performance.timeOrigin + performance.now();
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const fmt = (x) => `${x.toFixed(1)} ms`;
const OBJECTIONS = [
  ['too_expensive', 'Honestly that is too expensive for us.'],
  ['not_interested', 'I am not interested.'],
  ['send_email', 'Just send me an email.'],
  ['already_have_supplier', 'We already have a supplier.'],
  ['call_later', 'Call me back next week.'],
  ['not_decision_maker', 'That is not my decision.'],
  ['need_to_think', 'Let me think about it.'],
];

// ---- a Deepgram live stand-in: which call a connection carries, and finals on demand
const byCall = new Map(); // call index → the prospect side's socket
const stt = new WebSocketServer({ port: Number(sttPortArg), host: '127.0.0.1' });
stt.on('connection', (socket) => {
  let known = false;
  socket.on('message', (data, binary) => {
    if (!binary) {
      if (String(data).includes('CloseStream')) socket.close(1000);
      return;
    }
    if (known || data.length < 4) return;
    known = true;
    // The first sample says which call (1000 + index) — the rep's side is silent.
    const marker = data.readInt16LE(0);
    if (marker >= 1000) byCall.set(marker - 1000, socket);
  });
});
function settle(call, text) {
  const socket = byCall.get(call);
  if (!socket) return null;
  const result = {
    type: 'Results', channel_index: [0, 1], duration: 1.2, start: 0, is_final: true, speech_final: true,
    channel: { alternatives: [{ transcript: text, confidence: 0.98, words: [] }] },
  };
  const t = now();
  socket.send(JSON.stringify(result));
  return t;
}

// ---- HTTP as a browser would (a cookie jar per person)
function jar(cookie = '') {
  const cookies = new Map(cookie.split(';').map((c) => c.trim()).filter(Boolean).map((c) => [c.slice(0, c.indexOf('=')), c.slice(c.indexOf('=') + 1)]));
  const header = () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  let csrf = '';
  async function req(method, path, body, form) {
    const headers = { cookie: header(), 'x-csrf-token': csrf, accept: 'application/json' };
    let payload;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      payload = new URLSearchParams(form).toString();
    } else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const res = await fetch(`${base}${path}`, { method, headers, body: payload, redirect: 'manual' });
    for (const c of res.headers.getSetCookie?.() ?? []) {
      const kv = c.split(';')[0];
      cookies.set(kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1));
    }
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text;
  }
  return {
    header,
    async csrf() {
      const page = await req('GET', '/login');
      csrf = /name="csrf-token" content="([^"]+)"/.exec(page)[1];
    },
    api: (method, path, body) => req(method, `/api/v1${path}`, body),
    fn: (name, form) => req('POST', `/api/${name}`, undefined, form),
    cookies: () => [...cookies].map(([name, value]) => ({ name, value })),
  };
}

const owner = jar(ownerCookie);
await owner.csrf();
const org = (await owner.api('GET', '/orgs'))[0].id;
// Calls around the clock, a trunk (the LiveKit stand-in answers), N prospects.
await owner.api('PUT', `/orgs/${org}/compliance`, { window_start_minute: 0, window_end_minute: 1440, default_region: 'FR' });
const trunk = await owner.api('POST', `/orgs/${org}/telephony/trunks`, { name: `Bench ${Date.now()}`, address: '93.184.216.34', numbers: ['+33187654321'] });
await owner.api('PUT', `/orgs/${org}/telephony`, { default_trunk_id: trunk.id });
const stamp = Date.now() % 1_000_000;
// Invitations are limited per inviter (30 an hour): the demo's admin invites half.
const admin = jar();
await admin.csrf();
await admin.fn('log_in', { email: 'admin@demo.handoo.test', password: 'handoo-demo-2026' });
await admin.csrf();
const reps = [];
for (let i = 0; i < CALLS; i++) {
  const inviter = i % 2 === 0 ? owner : admin;
  const phone = `+336${String(10_000_000 + stamp * 100 + i).slice(-8)}`;
  const prospect = await owner.api('POST', `/orgs/${org}/prospects`, { first_name: `Bench${i}`, last_name: 'Prospect', phone });
  const invite = await inviter.fn('invite_member', { org_id: org, email: `bench-rep-${stamp}-${i}@example.com`, role: 'member' });
  const rep = jar();
  await rep.csrf();
  await rep.fn('accept_invite_new_user', { token: invite.link.split('/').pop(), name: `Rep ${i}`, password: 'correct horse battery staple' });
  await rep.csrf();
  const placed = await rep.api('POST', `/orgs/${org}/calls/rep`, { prospect_id: prospect.id, language: 'en' });
  reps.push({ i, rep, prospect: prospect.id, call: placed.call.id, session: placed.session_id });
}
// The stereo feeds: 100 ms frames, the rep silent, the prospect's side marked.
const feeds = [];
for (const r of reps) {
  const url = `${base.replace('http', 'ws')}/api/v1/orgs/${org}/copilot/sessions/${r.session}/audio?channels=2`;
  const ws = new WebSocket(url, { headers: { cookie: r.rep.header(), origin: base } });
  await new Promise((ok, fail) => { ws.on('open', ok); ws.on('error', fail); });
  const frame = Buffer.alloc(6400);
  for (let s = 0; s < 1600; s++) frame.writeInt16LE(1000 + r.i, s * 4 + 2);
  const timer = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send(frame), 100);
  feeds.push({ ws, timer });
}
for (let t = 0; t < 100 && byCall.size < CALLS; t++) await new Promise((r) => setTimeout(r, 100));
if (byCall.size < CALLS) throw new Error(`only ${byCall.size}/${CALLS} calls reached the speech-to-text`);

// Watchers: `PAGES` reps in Chromium, the others on their event streams.
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
const rendered = []; // (call, kind) → time, from the pages
const pages = [];
const streamed = new Map(); // `${call}/${kind}` → time the event reached its SSE client
const aborts = [];
try {
  const host = new URL(base).hostname;
  for (const r of reps.slice(0, PAGES)) {
    const context = await browser.newContext();
    await context.addCookies(r.rep.cookies().map((c) => ({ ...c, domain: host, path: '/' })));
    const page = await context.newPage();
    await page.goto(`${base}/app/copilot?p=${r.prospect}&s=${r.session}`, { waitUntil: 'load' });
    await page.waitForFunction(() => window.__handooHydrated === true, null, { timeout: 30_000 });
    await page.waitForSelector('[data-testid="softphone"]', { timeout: 15_000 });
    await page.evaluate(() => {
      window.__cards = [];
      const seen = new Set();
      new MutationObserver(() => {
        for (const el of document.querySelectorAll('[data-testid="objection-card"]')) {
          if (!seen.has(el.dataset.seq)) {
            seen.add(el.dataset.seq);
            window.__cards.push([el.dataset.objection, performance.timeOrigin + performance.now()]);
          }
        }
      }).observe(document.body, { childList: true, subtree: true });
    });
    pages.push({ r, page });
  }
  for (const r of reps.slice(PAGES)) {
    const ctrl = new AbortController();
    aborts.push(ctrl);
    fetch(`${base}/api/v1/orgs/${org}/copilot/sessions/${r.session}/events`, { headers: { cookie: r.rep.header() }, signal: ctrl.signal })
      .then(async (res) => {
        const reader = res.body.getReader();
        const dec = new TextDecoder();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          const at = now();
          buf += dec.decode(value, { stream: true });
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const frame = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const data = frame.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5)).join('\n');
            if (!data) continue;
            const ev = JSON.parse(data);
            if (ev.type === 'objection') streamed.set(`${r.i}/${ev.detection.kind}/${ev.seq}`, at);
          }
        }
      })
      .catch(() => {});
  }

  // Rounds: one objection per call, spread over 2 s.
  const sent = []; // [call, kind, t0]
  for (let round = 0; round < ROUNDS; round++) {
    const [kind, text] = OBJECTIONS[round % OBJECTIONS.length];
    for (const r of reps) {
      const t0 = settle(r.i, text);
      if (t0 !== null) sent.push([r.i, kind, t0, round]);
      await new Promise((ok) => setTimeout(ok, 2000 / CALLS));
    }
  }
  await new Promise((ok) => setTimeout(ok, 2000));
  // Browser: each page's cards in order, matched to what was settled on its call.
  const inBrowser = [];
  for (const { r, page } of pages) {
    const cards = await page.evaluate(() => window.__cards);
    const mine = sent.filter((s) => s[0] === r.i);
    for (const [kind, at] of cards) {
      const s = mine.find((m) => m[1] === kind && m[2] <= at && !m.used);
      if (s) {
        s.used = true;
        inBrowser.push(at - s[2]);
      }
    }
  }
  const onStream = [];
  for (const [key, at] of streamed) {
    const [call, kind] = key.split('/');
    const s = sent.find((m) => String(m[0]) === call && m[1] === kind && m[2] <= at && !m.usedS);
    if (s) {
      s.usedS = true;
      onStream.push(at - s[2]);
    }
  }
  const byKind = OBJECTIONS.map(([k]) => `${k} ${[...streamed.keys()].filter((key) => key.split('/')[1] === k).length}`);
  console.log(`  cards on the event streams by kind: ${byKind.join(', ')} (of ${ROUNDS * (CALLS - PAGES)} lines settled there)`);
  console.log(`  STT final → objection card rendered in the rep's browser (${CALLS} rep calls at once, ${inBrowser.length} cards on ${PAGES} pages):`);
  console.log(`    p50 ${fmt(pct(inBrowser, 50))}   p95 ${fmt(pct(inBrowser, 95))}   max ${fmt(Math.max(...inBrowser))}   (target p95 < 300 ms)`);
  console.log(`  STT final → the card's event at the other reps' event streams (${onStream.length} events):`);
  console.log(`    p50 ${fmt(pct(onStream, 50))}   p95 ${fmt(pct(onStream, 95))}   max ${fmt(Math.max(...onStream))}`);
} finally {
  for (const c of aborts) c.abort();
  for (const f of feeds) {
    clearInterval(f.timer);
    f.ws.close();
  }
  stt.close();
  await browser.close();
  // The calls end (a rep's call is not left dialling the stand-in).
  await Promise.all(reps.map((r) => r.rep.api('POST', `/orgs/${org}/calls/${r.call}/hang-up`).catch(() => {})));
}
