// A real phone call, watched in the browser: Handoo's server with LiveKit's
// own server and SIP bridge as its project, LiveKit's agent framework as the
// voice worker (it takes the dispatch and joins as the agent, silent), and a
// SIP phone (baresip) that rings until this spec answers it and then plays a
// tone. Not run on its own: conformance/livekit/test_handoo_calls.py starts
// all of them, points LiveKit's webhooks at Handoo and runs this with the
// addresses in the environment.
//
// On the open call page, with no reload: Ringing while the phone rings; In
// progress once it is answered (the agent is already in the room); listening
// live joins the real room with LiveKit's browser SDK and the page plays the
// phone's tone (checked with Web Audio on the <audio> element the SDK made);
// Hang up ends the call on the phone too and the page says Completed.
import { heard, env as supportEnv, phone as phoneCommand } from './support';
import { test, expect } from '@playwright/test';
import * as fs from 'node:fs';
import { newOwner, waitHydrated } from '../tests/support';
import { orgRequest, setUpTelephony, voiceAgent, words } from '../tests/calls-support';

const env = (name: string) => supportEnv(name, 'conformance/livekit/test_handoo_calls.py');

const handoo = env('HANDOO_URL');
const phoneNumber = env('PHONE_NUMBER');
const phoneHost = env('PHONE_HOST');
const phoneCtrl = Number(env('PHONE_CTRL_PORT'));
const toneHz = Number(env('PHONE_TONE_HZ'));
const agentJobs = env('AGENT_JOBS');

test.use({ baseURL: handoo });

const phone = (command: string) => phoneCommand(phoneCtrl, command);

for (const lang of ['en', 'fr'] as const) {
  test(`a real call through LiveKit, watched and listened to on its page (${lang})`, async ({ page, context }) => {
    const w = words[lang];
    await newOwner(page, `Real calls ${lang}`);
    if (lang === 'fr') await context.addCookies([{ name: 'i18n_pref_locale', value: 'fr', url: handoo }]);
    await waitHydrated(page);
    await orgRequest(page, 'PUT', '/compliance', { window_start_minute: 0, window_end_minute: 1440, default_region: 'FR' });
    await orgRequest(page, 'POST', '/agents', { settings: voiceAgent });
    const prospect = await orgRequest(page, 'POST', '/prospects', { first_name: 'Claire', last_name: 'Dupont', phone: phoneNumber });

    // Telephony: the server's (real) project, a trunk to the phone, the default, a connection test.
    await setUpTelephony(page, lang, 'Phone', phoneHost);

    // "Call with agent…": the call page, ringing while the phone rings.
    await page.goto(`/app/prospects/${prospect.id}`);
    await waitHydrated(page);
    await page.getByTestId('call-with-agent').click();
    await page.getByTestId('call-place').click();
    await page.waitForURL(/\/app\/calls\/[0-9a-f-]{36}$/);
    await waitHydrated(page);
    const callId = page.url().split('/').pop()!;
    const room = `call-${callId.replaceAll('-', '')}`;
    await expect(page.getByTestId('call-status')).toHaveAttribute('data-status', 'ringing');
    await expect(page.getByTestId('call-status')).toContainText(w.ringing);

    // LiveKit handed the dispatch to the worker, with this call in its metadata.
    await expect
      .poll(() => {
        const jobs = fs.readFileSync(agentJobs, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
        const job = jobs.find((j) => j.room === room);
        return job && JSON.parse(job.metadata).call_id;
      }, { timeout: 20_000 })
      .toBe(callId);

    // The phone answers (once its INVITE is there): in progress, with no reload.
    await expect.poll(() => phone('accept'), { timeout: 20_000 }).toContain('Answering');
    await expect(page.getByTestId('call-status')).toHaveAttribute('data-status', 'in_progress', { timeout: 20_000 });
    await expect(page.getByTestId('call-status')).toContainText(w.inProgress);

    // Listening live: LiveKit's browser SDK in the real room; the page plays the phone's tone.
    await page.getByTestId('listen-start').click();
    await expect(page.getByTestId('listen-live')).toHaveAttribute('data-state', 'listening', { timeout: 20_000 });
    await expect(page.getByTestId('listen-audio').first()).toBeAttached({ timeout: 20_000 });
    await expect
      .poll(async () => {
        const h = await heard(page, 'listen-audio');
        return h.playing && h.db > -70 && Math.abs(h.hz - toneHz) < 15;
      }, { timeout: 20_000, message: 'the page plays the phone’s tone' })
      .toBe(true);
    await page.getByTestId('listen-stop').click();
    await expect(page.getByTestId('listen-live')).toHaveAttribute('data-state', 'idle');

    // Hang up: the room goes, the phone's side ends, LiveKit's room_finished completes the call.
    await page.getByTestId('call-hang-up').click();
    await expect(page.getByTestId('call-status')).toHaveAttribute('data-status', 'completed', { timeout: 30_000 });
    await expect(page.getByTestId('call-status')).toContainText(w.completed);
    await expect(page.getByTestId('call-duration')).toHaveText(/^\d+:\d\d$/);
    await expect(page.getByTestId('call-timeline')).toContainText('agent_joined');
    // LiveKit's own room_finished is on the timeline (it may come after the hang-up's own entry).
    await expect
      .poll(async () => {
        await page.reload();
        return page.getByTestId('call-timeline').innerText();
      }, { timeout: 30_000 })
      .toContain('room_finished');
  });
}
