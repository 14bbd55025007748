// A rep calls a prospect from the copilot, against the mocks: LiveKit's
// stand-in speaks its Twirp API, verifies the tokens it is shown and sends
// LiveKit's signed webhooks as the call happens; it has no media server, so
// the softphone's own connection fails (and says so) once the SDK's join
// arrived with the rep's token — the real media path is
// end2end/livekit/rep_calls.spec.ts, against LiveKit's own server. Here:
// the Call button, the call's states on the softphone as the lifecycle
// moves, the timer, hold (the server's), the keypad, the transcript lines
// and the card, a manager on the live board who whispers (the rep is
// told), hanging up, and the outcome dialog landing on the call.
import { test, expect, Browser, Page } from '@playwright/test';
import { acceptInvite, inviteMember, newOwner, unique, waitHydrated } from './support';
import { livekit, mockPort, orgRequest, serverPort, setUpTelephony, words } from './calls-support';

const say = {
  en: { answered: 'Answered', inProgress: 'In progress', completed: 'Completed', whisper: 'can speak to you', tooExpensive: 'Too expensive', opening: 'Opening', live: 'Live calls', rep: 'rep' },
  fr: { answered: 'Décroché', inProgress: 'En cours', completed: 'Terminé', whisper: 'peut vous parler', tooExpensive: 'Trop cher', opening: 'Ouverture', live: 'Appels en cours', rep: 'commercial' },
};

/** Invites a member through the members page; they accept in their own browser context. */
async function invitedRep(page: Page, browser: Browser, lang: 'en' | 'fr'): Promise<Page> {
  const link = await inviteMember(page, `rep-${unique()}@example.com`);
  const context = await browser.newContext({ permissions: ['microphone'] });
  if (lang === 'fr') {
    await context.addCookies([{ name: 'i18n_pref_locale', value: 'fr', url: test.info().project.use.baseURL! }]);
  }
  const rep = await context.newPage();
  await acceptInvite(rep, link, 'Mia Rep');
  return rep;
}

for (const lang of ['en', 'fr'] as const) {
  test(`a rep calls from the copilot while a manager whispers from the live board (${lang})`, async ({ page, context, browser }) => {
    const s = say[lang];
    await newOwner(page, `Reps ${lang}`);
    if (lang === 'fr') {
      await context.addCookies([{ name: 'i18n_pref_locale', value: 'fr', url: test.info().project.use.baseURL! }]);
    }
    await waitHydrated(page);
    await orgRequest(page, 'PUT', '/compliance', { window_start_minute: 0, window_end_minute: 1440, default_region: 'FR' });
    const prospect = await orgRequest(page, 'POST', '/prospects', { first_name: 'Paul', last_name: 'Martin', company: 'Martin Transports', phone: '+33612345678' });
    expect(await livekit('webhook', { url: `http://127.0.0.1:${serverPort}/webhooks/livekit`, lifecycle: true })).toBe(204);
    expect(await livekit('hold', { hold: true })).toBe(204);
    await setUpTelephony(page, lang, 'Main', '93.184.216.34');
    const rep = await invitedRep(page, browser, lang);

    // -- the rep presses Call on the queued prospect
    await rep.goto(`/app/copilot?p=${prospect.id}`);
    await waitHydrated(rep);
    await expect(rep.getByTestId('profile-name')).toHaveText('Paul Martin');
    await rep.getByTestId('phone-call').click();
    await rep.waitForURL(/\/app\/copilot\?p=.+&s=.+/);
    await waitHydrated(rep);
    const phone = rep.getByTestId('softphone');
    await expect(phone).toHaveAttribute('data-status', 'ringing');
    // LiveKit's browser SDK reached the server with the rep's token (a
    // microphone, not hidden); the stand-in has no media, so the page says so.
    await expect(phone).toHaveAttribute('data-link', 'failed', { timeout: 20_000 });
    await expect(rep.getByTestId('phone-error')).toBeVisible();
    const current = await orgRequest(rep, 'GET', '/calls/rep/current');
    const room = current.call.room_name;
    const joins: any[] = await (await fetch(`http://127.0.0.1:${mockPort}/__control/livekit/joins`)).json();
    const join = joins.find((j) => j.room === room && j.identity === current.access.identity);
    expect(join, 'the SDK joined with the rep token').toBeTruthy();
    expect([join.hidden, join.can_subscribe, join.can_publish]).toEqual([false, true, true]);

    // -- the phone is picked up; the rep's microphone is in the room (as a
    // real client's would be): in progress, the timer runs
    await expect.poll(() => livekit('answer', { room }), { timeout: 10_000 }).toBe(204);
    await expect(phone).toHaveAttribute('data-status', 'answered');
    await expect(rep.getByTestId('phone-status')).toContainText(s.answered);
    const joined = await (await fetch(`http://127.0.0.1:${mockPort}/__control/livekit/join`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: current.access.token, publish_audio: true }),
    })).json();
    expect(joined.track_sid).toBeTruthy();
    await expect(phone).toHaveAttribute('data-status', 'in_progress');
    await expect(rep.getByTestId('phone-status')).toContainText(s.inProgress);
    await expect(rep.getByTestId('phone-timer')).not.toHaveText('0:00', { timeout: 5_000 });

    // Hold is the server's: the page's button says so once it holds.
    await rep.getByTestId('phone-hold-music').uncheck();
    await rep.getByTestId('phone-hold').click();
    await expect(rep.getByTestId('phone-hold')).toHaveAttribute('aria-pressed', 'true');
    // A reload while on hold: the page comes back holding, as it was.
    await rep.reload();
    await waitHydrated(rep);
    await expect(phone).toHaveAttribute('data-status', 'in_progress');
    await expect(rep.getByTestId('phone-hold')).toHaveAttribute('aria-pressed', 'true');
    await expect(rep.getByTestId('phone-hold-music')).not.toBeChecked();
    await rep.getByTestId('phone-hold').click();
    await expect(rep.getByTestId('phone-hold')).toHaveAttribute('aria-pressed', 'false');
    const timeline = (await orgRequest(rep, 'GET', `/calls/${current.call.id}`)).timeline.map((e: any) => e.kind);
    expect(timeline).toEqual(expect.arrayContaining(['held', 'resumed']));
    // The keypad.
    await rep.getByTestId('phone-keypad').click();
    for (const k of ['1', '2', '#']) await rep.getByTestId(`key-${k}`).click();
    await expect(rep.getByTestId('phone-dialled')).toHaveText('12#');

    // What the transcriber hears (posted as it would be): both sides, a card from the prospect's.
    const session = new URL(rep.url()).searchParams.get('s');
    await orgRequest(rep, 'POST', `/copilot/sessions/${session}/transcript`, { speaker: 'rep', text: 'Hello Paul, this is Mia from Handoo.' });
    await orgRequest(rep, 'POST', `/copilot/sessions/${session}/transcript`, { speaker: 'prospect', text: 'Honestly, it is too expensive for us.' });
    await expect(rep.getByTestId('transcript')).toContainText('too expensive for us');
    await expect(rep.getByTestId('objection-card')).toHaveAttribute('data-objection', 'too_expensive');

    // -- the manager: the live board, then a whisper the rep is told about
    await page.goto('/app');
    await waitHydrated(page);
    await page.getByTestId('nav-live-calls').click();
    await page.waitForURL('**/app/calls/live');
    await waitHydrated(page);
    const row = page.getByTestId('live-call');
    await expect(row).toHaveCount(1);
    await expect(row.getByTestId('live-who')).toHaveText('Mia Rep');
    await expect(row.getByTestId('live-prospect')).toHaveText('Paul Martin');
    await expect(row.getByTestId('live-objection')).toHaveText(s.tooExpensive, { timeout: 10_000 });
    await expect(row.getByTestId('live-duration')).toHaveText(/^\d+:\d\d$/);
    await row.getByTestId('whisper-start').click();
    await expect(row.getByTestId('listen-live')).toHaveAttribute('data-state', 'failed', { timeout: 20_000 });
    const whisperJoin = ((await (await fetch(`http://127.0.0.1:${mockPort}/__control/livekit/joins`)).json()) as any[])
      .find((j) => j.room === room && String(j.identity).startsWith('whisper-'));
    expect([whisperJoin.hidden, whisperJoin.can_publish]).toEqual([false, true]);
    await expect(rep.getByTestId('phone-supervisors')).toContainText('Ada Admin');
    await expect(rep.getByTestId('phone-supervisors')).toContainText(s.whisper);

    // -- the rep hangs up: the call completes and the outcome dialog opens
    await rep.getByTestId('phone-hang-up').click();
    await expect(phone).toHaveAttribute('data-status', 'completed');
    await expect(rep.getByTestId('end-form')).toBeVisible();
    await rep.getByTestId('outcome-interested').check();
    await rep.getByTestId('end-notes').fill('Demo on Tuesday');
    await rep.getByTestId('end-submit').click();
    await expect(rep.getByTestId('session-ended')).toBeVisible();
    const call = await orgRequest(rep, 'GET', `/calls/${current.call.id}`);
    expect([call.call.outcome, call.call.notes, call.call.status]).toEqual(['interested', 'Demo on Tuesday', 'completed']);
    // The board empties as the call ends.
    await expect(page.getByTestId('live-call')).toHaveCount(0, { timeout: 10_000 });
    await rep.context().close();
  });
}
