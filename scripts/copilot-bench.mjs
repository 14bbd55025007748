// Copilot latency, measured in the browser:
//  1. transcript event → objection card rendered, with N concurrent copilot
//     sessions live (one watched by a real Chromium page, the others by SSE
//     clients), every session receiving an utterance every ~2 s like a call;
//  2. the copilot page's first load (SSR + hydration) on loopback.
//
//   node scripts/copilot-bench.mjs <base url> <cookie header> [sessions=50] [samples=100]
//
// The clock for (1) is the page's own: performance.now() just before it
// POSTs the utterance, and again when a MutationObserver sees the card with
// that event's sequence number appear in the DOM (whether the card came from
// the live stream or the POST's answer, whichever is first).
import { chromium } from '@playwright/test';

const [base, cookie, nArg = '50', samplesArg = '100'] = process.argv.slice(2);
if (!base || !cookie) {
  console.error('usage: copilot-bench.mjs <base url> <cookie> [sessions] [samples]');
  process.exit(2);
}
const SESSIONS = Number(nArg);
const SAMPLES = Number(samplesArg);
const headers = { cookie, 'content-type': 'application/json' };

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const fmt = (x) => `${x.toFixed(1)} ms`;

async function api(method, path, body, extra = {}) {
  const res = await fetch(`${base}/api/v1${path}`, { method, headers: { ...headers, ...extra }, body: body && JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
});
const controllers = [];
try {
  // The signed-in cookies, in the browser's own jar (every request, the
  // EventSource included, sends them as a browser would).
  const context = await browser.newContext();
  const host = new URL(base).hostname;
  await context.addCookies(
    cookie
      .split(';')
      .map((c) => c.trim())
      .filter(Boolean)
      .map((c) => {
        const i = c.indexOf('=');
        return { name: c.slice(0, i), value: c.slice(i + 1), domain: host, path: '/' };
      }),
  );
  const page = await context.newPage();
  await page.goto(`${base}/app`, { waitUntil: 'load' });
  const csrf = await page.evaluate(() => document.querySelector('meta[name="csrf-token"]').getAttribute('content'));
  const write = { 'x-csrf-token': csrf };
  const org = (await api('GET', '/orgs'))[0].id;
  const prospects = (await api("GET", `/orgs/${org}/prospects?per_page=50`)).rows;
  const prospect = prospects[0].id;

  // N sessions; all but the first watched by SSE clients that drain their streams.
  const sessions = [];
  for (let i = 0; i < SESSIONS; i++) {
    const s = await api('POST', `/orgs/${org}/copilot/sessions`, { prospect_id: prospect, mode: 'practice', language: 'en' }, write);
    sessions.push(s.id);
  }
  for (const id of sessions.slice(1)) {
    const ctrl = new AbortController();
    controllers.push(ctrl);
    fetch(`${base}/api/v1/orgs/${org}/copilot/sessions/${id}/events`, { headers, signal: ctrl.signal })
      .then(async (res) => {
        const reader = res.body.getReader();
        while (!(await reader.read()).done) {}
      })
      .catch(() => {});
  }
  // Background traffic: every other session hears a line every ~2 s.
  const lines = ['We have forty vehicles.', 'Tell me more.', 'That sounds interesting.', 'We renew every three years.'];
  let stop = false;
  const background = (async () => {
    let i = 0;
    while (!stop) {
      const id = sessions[1 + (i % (SESSIONS - 1))];
      api('POST', `/orgs/${org}/copilot/sessions/${id}/transcript`, { speaker: 'prospect', text: lines[i % lines.length] }, write).catch(() => {});
      i++;
      await new Promise((r) => setTimeout(r, 2000 / Math.max(1, SESSIONS - 1)));
    }
  })();

  // The watched session in the real UI.
  const watched = sessions[0];
  await page.goto(`${base}/app/copilot?p=${prospect}&s=${watched}`, { waitUntil: 'load' });
  await page.waitForFunction(() => window.__handooHydrated === true, null, { timeout: 30_000 });
  await page.waitForSelector('[data-testid="current-phase"]', { timeout: 15_000 }).catch(async (e) => {
    console.error(page.url(), (await page.locator('body').innerText()).slice(0, 600));
    throw e;
  });
  await page.waitForTimeout(500);
  await page.evaluate(() => {
    window.__cards = new Map();
    new MutationObserver(() => {
      for (const el of document.querySelectorAll('[data-testid="objection-card"]')) {
        const key = el.dataset.seq;
        if (!window.__cards.has(key)) window.__cards.set(key, performance.now());
      }
    }).observe(document.body, { childList: true, subtree: true });
  });
  const objections = [
    'Honestly that is too expensive for us.',
    'I am not interested.',
    'Just send me an email.',
    'We already have a supplier.',
    'Call me back next week.',
    'That is not my decision.',
    'Let me think about it.',
  ];
  const latencies = [];
  for (let i = 0; i < SAMPLES; i++) {
    const text = objections[i % objections.length];
    const ms = await page.evaluate(
      async ({ org, id, text, csrf }) => {
        const t0 = performance.now();
        const res = await fetch(`/api/v1/orgs/${org}/copilot/sessions/${id}/transcript`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
          body: JSON.stringify({ speaker: 'prospect', text }),
        });
        const events = await res.json();
        const card = events.find((e) => e.type === 'objection');
        if (!card) return null;
        const key = String(card.seq);
        const deadline = performance.now() + 5000;
        while (!window.__cards.has(key) && performance.now() < deadline) {
          await new Promise((r) => requestAnimationFrame(r));
        }
        return window.__cards.has(key) ? window.__cards.get(key) - t0 : null;
      },
      { org, id: watched, text, csrf },
    );
    if (ms !== null) latencies.push(ms);
  }
  stop = true;
  await background;
  console.log(`  transcript event → objection card rendered (${SESSIONS} live sessions, ${latencies.length}/${SAMPLES} cards):`);
  console.log(`    p50 ${fmt(pct(latencies, 50))}   p95 ${fmt(pct(latencies, 95))}   max ${fmt(Math.max(...latencies))}   (target p95 < 300 ms)`);

  // First load of the copilot page: navigation start → hydrated.
  const loads = [];
  for (let i = 0; i < 15; i++) {
    const p = await context.newPage();
    await p.route('**/*', (route) => route.continue()); // no HTTP cache between loads
    await p.goto(`${base}/app/copilot?p=${prospect}&s=${watched}`, { waitUntil: 'commit' });
    await p.waitForFunction(() => window.__handooHydrated === true, null, { timeout: 30_000 });
    loads.push(await p.evaluate(() => window.__handooHydratedAt));
    await p.close();
  }
  console.log(`  copilot page first load (navigation → hydrated, ${loads.length} loads, cold cache each):`);
  console.log(`    p50 ${fmt(pct(loads, 50))}   p95 ${fmt(pct(loads, 95))}   (target < 1000 ms)`);
} finally {
  for (const c of controllers) c.abort();
  await browser.close();
}
