import { test, expect, Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newOwner, waitHydrated } from './support';
import { fakeMicrophone } from '../playwright.config';

// Real speech, made by espeak-ng: the rep's microphone in practice mode is
// Chromium's fake capture device playing this file once. The mock STT speaks
// Deepgram's streaming protocol; it cannot recognise words, so the test
// scripts what it "hears" (one utterance per stretch of speech it detects in
// the audio), while everything else — getUserMedia, the AudioWorklet
// resampling, the WebSocket, the server's STT client, the phase engine, the
// objection detector and the live event stream — is the real thing.
const dir = mkdtempSync(join(tmpdir(), 'handoo-e2e-'));
const wav = join(dir, 'call.wav');
execFileSync('espeak-ng', [
  '-m',
  '-s', '150',
  '-w', wav,
  '<speak>Yes, I have a minute, go ahead.<break time="1500ms"/>Honestly, that is too expensive for us.<break time="2500ms"/></speak>',
]);

test.use({ launchOptions: fakeMicrophone(`${wav}%noloop`) });

const mockPort = process.env.HANDOO_E2E_MOCK_PORT ?? '3190';

async function scriptStt(utterances: string[] | null) {
  const res = await fetch(`http://127.0.0.1:${mockPort}/__control/stt-script`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ utterances }),
  });
  expect(res.status).toBe(204);
}

/** POSTs JSON to the page user's first organisation through the REST API, with the page's session and CSRF token. */
async function orgPost(page: Page, path: string, body: object): Promise<any> {
  return page.evaluate(
    async ({ path, body }) => {
      const csrf = document.querySelector('meta[name="csrf-token"]')!.getAttribute('content')!;
      const org = (await (await fetch('/api/v1/orgs')).json())[0].id;
      const res = await fetch(`/api/v1/orgs/${org}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${path}: ${res.status} ${text}`);
      return text ? JSON.parse(text) : null;
    },
    { path, body },
  );
}

async function createProspect(page: Page, body: object): Promise<string> {
  return (await orgPost(page, '/prospects', body)).id;
}

/** Creates a knowledge item and approves it (the page's user is the owner). */
async function approvedKnowledge(page: Page, item: object): Promise<string> {
  const { id, version } = await orgPost(page, '/knowledge', item);
  await orgPost(page, `/knowledge/${id}/review`, { action: 'submit' });
  // An approval names the version the reviewer read.
  await orgPost(page, `/knowledge/${id}/review`, { action: 'approve', expected_version: version });
  return id;
}

/** Opens the copilot, picks the prospect from the queue and starts a practice session. */
async function startPractice(page: Page, prospect: string) {
  await page.goto('/app/copilot');
  await waitHydrated(page);
  await page.getByTestId('queue-item').filter({ hasText: prospect }).click();
  await page.getByTestId('start-practice').click();
  await page.waitForURL(/&s=/);
}

test.afterAll(async () => {
  await scriptStt(null);
});

test('practice with the microphone: the script advances, an objection card appears, the outcome updates the prospect', async ({ page }) => {
  await newOwner(page, 'Copilot');
  await waitHydrated(page);
  await createProspect(page, { first_name: 'Paul', last_name: 'Roux', company: 'Roux Transports', phone: '+33 6 12 34 56 78' });

  await page.getByTestId('nav-copilot').click();
  await page.waitForURL('**/app/copilot');
  await waitHydrated(page);
  await page.getByTestId('queue-item').filter({ hasText: 'Paul Roux' }).click();
  await expect(page.getByTestId('profile-name')).toHaveText('Paul Roux');
  await expect(page.getByTestId('brief')).toBeVisible();

  await page.getByTestId('start-practice').click();
  await page.waitForURL(/\/app\/copilot\?p=.+&s=.+/);
  await expect(page.getByTestId('phase-opening')).toHaveAttribute('aria-current', 'step');
  await expect(page.getByTestId('phase-text')).toContainText('Hi Paul');

  await scriptStt(['Yes, I have a minute, go ahead.', 'Honestly, that is too expensive for us.']);
  await page.getByTestId('mic-toggle').click();
  await expect(page.getByTestId('mic-live')).toBeVisible();

  // Opening → Discovery when the prospect says they have a minute.
  await expect(page.getByTestId('phase-discovery')).toHaveAttribute('aria-current', 'step', { timeout: 20_000 });
  await expect(page.getByTestId('transcript')).toContainText('I have a minute');
  // The objection card, with the script's handler.
  const card = page.getByTestId('objection-card');
  await expect(card).toHaveAttribute('data-objection', 'too_expensive', { timeout: 20_000 });
  await expect(card.getByTestId('handler-response')).toContainText('Compared with what');

  // Manual navigation still works alongside.
  await page.getByTestId('phase-next').click();
  await expect(page.getByTestId('phase-presentation')).toHaveAttribute('aria-current', 'step');

  // Log the outcome; the prospect's status follows.
  await page.getByTestId('end-call').click();
  await page.getByTestId('outcome-interested').check();
  await page.getByTestId('end-notes').fill('Wants a TCO comparison');
  await page.getByTestId('end-submit').click();
  await expect(page.getByTestId('session-ended')).toBeVisible();
  await expect(page.getByTestId('mic-live')).toHaveCount(0);
  await expect(page.getByTestId('profile-status')).toContainText('Interested');
  await expect(page.getByTestId('call-history')).toContainText('Wants a TCO comparison');
});

test('typed transcript drives a session and French objections are recognised', async ({ page }) => {
  await newOwner(page, 'Copilot FR');
  await waitHydrated(page);
  await createProspect(page, { first_name: 'Léa', last_name: 'Martin', company: 'Martin SA', phone: '+33 6 98 76 54 32' });
  await startPractice(page, 'Léa Martin');
  await page.getByTestId('say-input').fill('Envoyez-moi un mail, je suis déjà équipé');
  await page.getByTestId('say-send').click();
  await expect(page.locator('[data-objection="send_email"]')).toBeVisible();
  await expect(page.locator('[data-objection="already_have_supplier"]')).toBeVisible();
  await expect(page.getByTestId('transcript-line')).toHaveCount(1);
  // A reload replays the stored session.
  await page.reload();
  await waitHydrated(page);
  await expect(page.getByTestId('transcript-line')).toHaveCount(1);
  await expect(page.getByTestId('objection-card')).toHaveCount(2);
  // Lines typed back to back all get through: the box empties as a line
  // leaves, so a late answer never wipes the next one.
  const input = page.getByTestId('say-input');
  for (const line of ['Bon, je vous écoute', 'Combien de véhicules gérez-vous ?', 'Une trentaine']) {
    await input.fill(line);
    await page.getByTestId('say-send').click();
  }
  await expect(page.getByTestId('transcript-line')).toHaveCount(4);
  await expect(input).toHaveValue('');
});

test('a live stream that reconnects reloads the session without redrawing it: the microphone and a draft line stay', async ({ page }) => {
  await newOwner(page, 'Copilot reconnect');
  await waitHydrated(page);
  await createProspect(page, { first_name: 'Nina', last_name: 'Perrin', company: 'Perrin SAS', phone: '+33 6 11 22 33 44' });
  // The session's event stream: the first connection is held until the test
  // lets it go, then ends at once — as a dropped network would end it — and
  // the browser reconnects by itself (EventSource), which reloads the session.
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  let connections = 0;
  await page.route(/\/copilot\/sessions\/[^/]+\/events$/, async (route) => {
    if (++connections > 1) return route.continue();
    await released;
    await route.fulfill({ status: 200, headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }, body: ': bye\n\n' });
  });
  await startPractice(page, 'Nina Perrin');
  await scriptStt([]);
  await page.getByTestId('mic-toggle').click();
  await expect(page.getByTestId('mic-live')).toBeVisible();
  await page.getByTestId('say-input').fill('a line not sent yet');
  // A mark on the running view's node: a redraw would put a new node there.
  await page.getByTestId('say-input').evaluate((el) => ((el as any).handooMark = 'kept'));

  const reloaded = page.waitForResponse((r) => r.url().includes('copilot_session'));
  release();
  await reloaded;
  await expect.poll(() => connections).toBeGreaterThan(1);
  // The reload went through the page (the phase it shows is the stored one)…
  await expect(page.getByTestId('phase-opening')).toHaveAttribute('aria-current', 'step');
  // …and nothing the rep had going was dropped.
  expect(await page.getByTestId('say-input').evaluate((el) => (el as any).handooMark)).toBe('kept');
  await expect(page.getByTestId('say-input')).toHaveValue('a line not sent yet');
  await expect(page.getByTestId('mic-toggle')).toHaveAttribute('aria-pressed', 'true');
  await expect(page.getByTestId('mic-live')).toBeVisible();
});

test('an opt-out raises a compliance card whose one click puts the number on the do-not-call list', async ({ page }) => {
  await newOwner(page, 'Copilot opt-out');
  await waitHydrated(page);
  await createProspect(page, { first_name: 'Marc', last_name: 'Duval', company: 'Duval SARL', phone: '+33 6 44 55 66 77' });
  await startPractice(page, 'Marc Duval');
  await page.getByTestId('say-input').fill("Non merci, et arrêtez de m'appeler s'il vous plaît");
  await page.getByTestId('say-send').click();
  const card = page.locator('[data-objection="opt_out"]');
  await expect(card).toBeVisible();
  // The opt-out alone: no rebuttal card for the refusal said with it.
  await expect(page.getByTestId('objection-card')).toHaveCount(1);
  await card.getByTestId('honour-opt-out').click();
  await expect(card.getByTestId('opt-out-recorded')).toContainText('+33644556677');
  // The number is on the organisation's list, with the opt-out as its reason.
  const listed = await page.evaluate(async () => {
    const org = (await (await fetch('/api/v1/orgs')).json())[0].id;
    return (await fetch(`/api/v1/orgs/${org}/dnc?search=%2B33644556677`)).text();
  });
  expect(listed).toContain('+33644556677');
});

test('an objection said in other words is caught by meaning, and knowledge follows the conversation', async ({ page }) => {
  await newOwner(page, 'Copilot semantic');
  await waitHydrated(page);
  await createProspect(page, { first_name: 'Hugo', last_name: 'Petit', company: 'Petit Logistique', phone: '+33 6 11 22 33 44' });
  await approvedKnowledge(page, {
    kind: 'objection_handler',
    title: 'Battery warranty on electric vans',
    body: 'Eight years or 160,000 km on the battery, transferable on resale.',
    tags: ['EV'],
    fields: { objection: 'need_to_think', example_phrases: 'What would make you sure?' },
  });
  await startPractice(page, 'Hugo Petit');

  // No phrase rule knows this sentence; the embedding model does.
  await page.getByTestId('say-input').fill("Honestly that's a lot more than we budgeted for this kind of thing");
  await page.getByTestId('say-send').click();
  const card = page.locator('[data-objection="too_expensive"]');
  await expect(card).toBeVisible();
  await expect(card.getByTestId('semantic-match')).toContainText('%');

  // The knowledge panel follows what the prospect just said.
  await page.getByTestId('say-input').fill('How long is the battery warranty on your electric vans?');
  await page.getByTestId('say-send').click();
  await expect(page.getByTestId('related-knowledge')).toContainText('Battery warranty on electric vans');

  // A line the classifier is unsure of goes to the organisation's LLM (the
  // mock, here); the card it confirms arrives late, labelled with the model.
  await page.getByTestId('say-input').fill('mm, the numbers are a bit of a stretch for us this quarter');
  await page.getByTestId('say-send').click();
  const late = page.getByTestId('late-card');
  await expect(late)
    .toContainText('gpt-4.1', { timeout: 15_000 })
    .catch(async (e) => {
      // Say what the server stored, so a failure tells whether the card was
      // never raised or raised and not shown.
      const sid = new URL(page.url()).searchParams.get('s');
      const stored = await page.evaluate(async (sid) => {
        const org = (await (await fetch('/api/v1/orgs')).json())[0].id;
        return (await fetch(`/api/v1/orgs/${org}/copilot/sessions/${sid}`)).text();
      }, sid);
      throw new Error(`${e}\nthe session as stored: ${stored}`);
    });
  await expect(page.locator('[data-objection="too_expensive"]').filter({ has: late })).toBeVisible();
});

test('a finished copilot call is analysed, and a manager corrects the analysis on the prospect page', async ({ page }) => {
  await newOwner(page, 'Copilot analysis');
  await waitHydrated(page);
  const prospect = await createProspect(page, { first_name: 'Nina', last_name: 'Perrin', company: 'Perrin Logistique', phone: '+33 6 71 72 73 74' });
  // The call itself through the REST API (what an integration posting its
  // transcript does); the analysis is read and corrected in the page.
  const session = await orgPost(page, '/copilot/sessions', { prospect_id: prospect, mode: 'practice', language: 'en' });
  for (const [speaker, text] of [
    ['rep', 'Hello Nina, this is a quick call about your fleet.'],
    ['prospect', 'We run twelve vans and renew them in spring.'],
    ['rep', 'Could we book a demo on Tuesday at ten?'],
    ['prospect', 'Yes, Tuesday at ten works for me.'],
  ]) {
    await orgPost(page, `/copilot/sessions/${session.id}/transcript`, { speaker, text });
  }
  await orgPost(page, `/copilot/sessions/${session.id}/end`, { outcome: 'meeting_booked', notes: '' });

  await page.goto(`/app/prospects/${prospect}`);
  await waitHydrated(page);
  const entry = page.getByTestId('call-history-entry').filter({ has: page.getByTestId('call-history-analysis') });
  await entry.getByTestId('call-history-analysis').click();
  const card = entry.getByTestId('call-analysis');
  // Written by the organisation's model (the mock), checked against what was said.
  await expect(card.getByTestId('analysis-state')).toHaveAttribute('data-state', 'done', { timeout: 20_000 });
  await expect(card.getByTestId('analysis-summary')).toContainText('meeting booked');
  await expect(card.getByTestId('analysis-sentiment')).toHaveAttribute('data-sentiment', 'positive');
  await expect(card.locator('[data-phase="opening"]')).toContainText('Hello Nina, this is a quick call about');
  await expect(card.locator('[data-phase="presentation"]')).toContainText('—');

  // The owner corrects it: a new summary and a presentation score.
  await entry.getByTestId('analysis-edit').click();
  await entry.getByTestId('analysis-summary-input').fill('Demo booked for Tuesday 10:00; twelve vans, renewed in spring.');
  const presentation = entry.locator('[data-testid="analysis-phase-input"][data-phase="presentation"]');
  await presentation.locator('input[type="number"]').fill('11');
  await entry.getByTestId('analysis-save').click();
  await expect(entry.getByRole('alert')).toContainText('0 to 10');
  await presentation.locator('input[type="number"]').fill('6');
  await presentation.locator('input[type="text"]').fill('the rep explained pricing');
  await entry.getByTestId('analysis-save').click();
  await expect(card.getByTestId('analysis-summary')).toHaveText('Demo booked for Tuesday 10:00; twelve vans, renewed in spring.');
  await expect(card.locator('[data-phase="presentation"]')).toContainText('6/10');
  await expect(card).toContainText('Corrected by a manager');
  // The log keeps what it replaced.
  await page.goto('/app/audit');
  await waitHydrated(page);
  await expect(page.getByText('Call analysis corrected').first()).toBeVisible();
});
