// Phone calls against the mocks: LiveKit's stand-in in mock-vendors speaks
// its Twirp API and sends LiveKit's signed webhooks as the call happens
// (`lifecycle`); ringing is held until the test answers, so each state is
// seen on the open call page as it arrives over the event stream. The call
// is recorded into a bucket of moto's S3 server (the mock's egress uploads
// it when the room closes) and played on the call page; listening live
// joins the mock with LiveKit's browser SDK (the mock has no media server,
// so the page says it could not connect once the SDK's join arrived).
import { test, expect } from '@playwright/test';
import { newOwner, waitHydrated } from './support';
import { livekit, mockPort, orgRequest, serverPort, setUpTelephony, voiceAgent, words } from './calls-support';

const motoPort = process.env.HANDOO_E2E_MOTO_PORT ?? '3191';

for (const lang of ['en', 'fr'] as const) {
  test(`set up telephony, call a prospect with an agent and watch the call live (${lang})`, async ({ page, context }) => {
    const w = words[lang];
    await newOwner(page, `Dialers ${lang}`);
    if (lang === 'fr') {
      await context.addCookies([{ name: 'i18n_pref_locale', value: 'fr', url: test.info().project.use.baseURL! }]);
    }
    await waitHydrated(page);
    // Calling hours around the clock (the suite runs at any hour), a voice agent, a prospect.
    await orgRequest(page, 'PUT', '/compliance', { window_start_minute: 0, window_end_minute: 1440, default_region: 'FR' });
    await orgRequest(page, 'POST', '/agents', { settings: voiceAgent });
    const prospect = await orgRequest(page, 'POST', '/prospects', { first_name: 'Paul', last_name: 'Martin', phone: '+33612345678' });
    // LiveKit sends its webhooks here; the callee answers when told.
    expect(await livekit('webhook', { url: `http://127.0.0.1:${serverPort}/webhooks/livekit`, lifecycle: true })).toBe(204);
    expect(await livekit('hold', { hold: true })).toBe(204);

    // Telephony settings: the server's project, a trunk, the defaults, a connection test.
    await setUpTelephony(page, lang, 'Main', '93.184.216.34');
    // Recordings: a bucket of the local S3 server, checked, calls recorded by default.
    const bucket = `calls-${lang}-${Date.now()}`;
    expect((await fetch(`http://127.0.0.1:${motoPort}/${bucket}`, { method: 'PUT' })).ok).toBe(true);
    await page.fill('#rec-endpoint', `http://127.0.0.1:${motoPort}`);
    await page.fill('#rec-region', 'us-east-1');
    await page.fill('#rec-bucket', bucket);
    await page.fill('#rec-access-key', 'AKIAE2E');
    await page.fill('#rec-secret-key', 'e2e-recordings-secret-0123');
    await page.locator('#record-calls').check();
    await page.getByTestId('recordings-save').click();
    await expect(page.locator('#rec-secret-key')).toHaveValue('');
    await page.getByTestId('recordings-test').click();
    await expect(page.getByTestId('recordings-last-test')).toContainText(w.writable);

    // "Call with agent…" on the prospect: to the call's page, ringing.
    await page.goto(`/app/prospects/${prospect.id}`);
    await waitHydrated(page);
    await page.getByTestId('call-with-agent').click();
    await expect(page.getByTestId('call-agent')).toContainText('Ava');
    await page.getByTestId('call-place').click();
    await page.waitForURL(/\/app\/calls\/[0-9a-f-]{36}$/);
    await waitHydrated(page);
    const callId = page.url().split('/').pop()!;
    await expect(page.getByTestId('call-title')).toHaveText('Paul Martin');
    await expect(page.getByTestId('call-status')).toHaveAttribute('data-status', 'ringing');
    await expect(page.getByTestId('call-status')).toContainText(w.ringing);

    // The callee answers (the agent is already in the room; the room is `call-<id without dashes>`):
    // in progress, without a reload.
    await expect.poll(() => livekit('answer', { room: `call-${callId.replaceAll('-', '')}` }), { timeout: 10_000 }).toBe(204);
    await expect(page.getByTestId('call-status')).toHaveAttribute('data-status', 'in_progress');
    await expect(page.getByTestId('call-status')).toContainText(w.inProgress);
    await expect(page.getByTestId('call-recording-pending')).toBeVisible();

    // Listening live: LiveKit's browser SDK joins the room with a hidden, subscribe-only token.
    const room = `call-${callId.replaceAll('-', '')}`;
    await page.getByTestId('listen-start').click();
    await expect(page.getByTestId('listen-live')).toHaveAttribute('data-state', 'failed', { timeout: 20_000 });
    await expect(page.getByTestId('listen-error')).toContainText(w.listenFailed);
    const joins: any[] = await (await fetch(`http://127.0.0.1:${mockPort}/__control/livekit/joins`)).json();
    const join = joins.find((j) => j.room === room);
    expect(join, 'the SDK reached the LiveKit server with the minted token').toBeTruthy();
    expect([join.hidden, join.can_subscribe, join.can_publish]).toEqual([true, true, false]);

    // Hang up: completed, with a talk time; then the outcome.
    await page.getByTestId('call-hang-up').click();
    await expect(page.getByTestId('call-status')).toHaveAttribute('data-status', 'completed');
    await expect(page.getByTestId('call-status')).toContainText(w.completed);
    await expect(page.getByTestId('call-duration')).toHaveText(/^\d+:\d\d$/);
    await expect(page.getByTestId('call-timeline')).toContainText('agent_joined');
    // The recording, once the egress reported it: played through this server, seekable.
    const player = page.getByTestId('call-recording');
    await expect(player).toBeVisible({ timeout: 15_000 });
    await expect(page.getByTestId('call-recording-duration')).toHaveText(/^\d+:\d\d$/);
    const head = await player.evaluate(async (el: HTMLAudioElement) => {
      const res = await fetch(el.src, { headers: { range: 'bytes=0-3' } });
      return { status: res.status, magic: new TextDecoder().decode(await res.arrayBuffer()) };
    });
    expect(head).toEqual({ status: 206, magic: 'RIFF' });
    await player.evaluate((el: HTMLAudioElement) => el.play().catch(() => undefined));
    await expect.poll(() => player.evaluate((el: HTMLAudioElement) => el.readyState), { timeout: 10_000 }).toBeGreaterThan(0);
    await page.getByTestId('call-outcome').selectOption('meeting_booked');
    await page.getByTestId('call-notes-input').fill('Demo on Tuesday');
    await page.getByTestId('call-outcome-save').click();
    await expect(page.getByTestId('call-notes')).toHaveText('Demo on Tuesday');
    await expect(page.getByTestId('call-outcome-form')).toHaveCount(0);
    // What the voice worker writes as a call goes: the transcript, turn by turn, and the values it collected.
    await expect(page.getByTestId('call-transcript-empty')).toBeVisible();
    await orgRequest(page, 'POST', `/calls/${callId}/turns`, {
      turns: [
        { seq: 0, speaker: 'agent', text: 'Hello Paul, this is Ava.', start_ms: 0, end_ms: 1500 },
        { seq: 1, speaker: 'prospect', text: 'We need three vans.', start_ms: 1800, end_ms: 3200 },
      ],
    });
    await orgRequest(page, 'PATCH', `/calls/${callId}/data`, { data: { vans: 3 } });
    await page.reload();
    await waitHydrated(page);
    await expect(page.getByTestId('call-turn')).toHaveCount(2);
    await expect(page.getByTestId('call-turn').nth(1)).toHaveAttribute('data-speaker', 'prospect');
    await expect(page.getByTestId('call-turn').nth(1)).toContainText('We need three vans.');
    await expect(page.getByTestId('call-turn').nth(1)).toContainText('0:01');
    await expect(page.getByTestId('call-collected')).toContainText('vans');
    await expect(page.getByTestId('call-collected-value')).toHaveText('3');

    // The calls list, filtered in the URL; the prospect's page lists the call.
    await page.goto('/app/calls?status=completed');
    await waitHydrated(page);
    await expect(page.getByTestId('call-row')).toHaveCount(1);
    await expect(page.getByTestId('call-row-status')).toContainText(w.completed);
    await expect(page.getByTestId('calls-export')).toHaveAttribute('href', /export\.csv\?status=completed/);
    await page.getByTestId('filter-status').selectOption('busy');
    await expect(page.getByTestId('call-row')).toHaveCount(0);
    await expect(page).toHaveURL(/status=busy/);
    await page.goto(`/app/prospects/${prospect.id}`);
    await waitHydrated(page);
    await expect(page.getByTestId('call-history-entry').first()).toHaveAttribute('data-kind', 'phone');
  });
}
