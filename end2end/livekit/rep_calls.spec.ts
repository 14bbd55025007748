// A rep calls from the copilot through LiveKit's own server and SIP bridge,
// in Chromium; a manager whispers, then barges. Not run on its own:
// conformance/livekit/test_rep_calls.py starts the stack, Handoo (its worker
// on, transcribing rep calls), the mock speech-to-text and the SIP phone,
// runs this with their addresses in the environment, and afterwards checks
// what the phone recorded in the windows this spec writes to MARKS_FILE.
//
// The rep's Chromium has a fake microphone saying REP_LINE; the manager's
// (this spec's own page) a fake microphone playing a 1,200 Hz tone. The
// rep's network goes through a proxy the spec cuts for a few seconds
// mid-call; afterwards the keypad's tones must still reach the phone, and
// the phone must hear the hold music while the rep holds.
import { CuttableProxy, PhoneEvents, heard, env as supportEnv, phone as phoneCommand } from './support';
import { test, expect, chromium as pw } from '@playwright/test';
import * as fs from 'node:fs';
import { fakeMicrophone } from '../playwright.config';
import { acceptInvite, inviteMember, newOwner, unique, waitHydrated } from '../tests/support';
import { orgRequest, setUpTelephony } from '../tests/calls-support';

const env = (name: string) => supportEnv(name, 'conformance/livekit/test_rep_calls.py');

const handoo = env('HANDOO_URL');
const phoneNumber = env('PHONE_NUMBER');
const phoneHost = env('PHONE_HOST');
const phoneCtrl = Number(env('PHONE_CTRL_PORT'));
const repLine = env('REP_LINE');
const prospectLine = env('PROSPECT_LINE');
const marksFile = env('MARKS_FILE');
const autoplay = '--autoplay-policy=no-user-gesture-required';

const managerMic = fakeMicrophone(env('MANAGER_MIC'));
test.use({ baseURL: handoo, launchOptions: { ...managerMic, args: [...managerMic.args, autoplay] } });

const say = {
  en: { whisper: 'can speak to you', barge: 'has joined the conversation' },
  fr: { whisper: 'peut vous parler', barge: 'a rejoint la conversation' },
};

const phone = (command: string) => phoneCommand(phoneCtrl, command);

const marks: object[] = [];

for (const lang of ['en', 'fr'] as const) {
  test(`a rep calls from the copilot; the manager whispers, then barges (${lang})`, async ({ page, context }) => {
    test.setTimeout(180_000);
    const s = say[lang];
    await newOwner(page, `Real rep calls ${lang}`);
    if (lang === 'fr') await context.addCookies([{ name: 'i18n_pref_locale', value: 'fr', url: handoo }]);
    await waitHydrated(page);
    await orgRequest(page, 'PUT', '/compliance', { window_start_minute: 0, window_end_minute: 1440, default_region: 'FR' });
    const prospect = await orgRequest(page, 'POST', '/prospects', { first_name: 'Claire', last_name: 'Dupont', phone: phoneNumber });
    await setUpTelephony(page, lang, 'Phone', phoneHost);
    // The rep, invited, in their own Chromium with their own microphone.
    const link = await inviteMember(page, `mia-${unique()}@example.com`);
    const repMic = fakeMicrophone(`${env('REP_MIC')}%noloop`);
    // Its network goes through a proxy that can be cut.
    const network = new CuttableProxy();
    const repBrowser = await pw.launch({ ...repMic, args: [...repMic.args, autoplay], proxy: { server: await network.start() } });
    const repContext = await repBrowser.newContext({ baseURL: handoo, permissions: ['microphone'] });
    if (lang === 'fr') await repContext.addCookies([{ name: 'i18n_pref_locale', value: 'fr', url: handoo }]);
    const rep = await repContext.newPage();
    await acceptInvite(rep, link, 'Mia Rep');
    // What the speech-to-text will "hear", stretch by stretch: the rep, then the phone.
    const scripted = await fetch(env('STT_SCRIPT_URL'), {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ utterances: [repLine, prospectLine] }),
    });
    expect(scripted.status).toBe(204);

    // -- Call: the softphone joins the real room, the phone rings
    await rep.goto(`/app/copilot?p=${prospect.id}`);
    await waitHydrated(rep);
    await rep.getByTestId('phone-call').click();
    await rep.waitForURL(/\/app\/copilot\?p=.+&s=.+/);
    await waitHydrated(rep);
    const softphone = rep.getByTestId('softphone');
    await expect(softphone).toHaveAttribute('data-link', 'connected', { timeout: 30_000 });
    await expect(softphone).toHaveAttribute('data-status', 'ringing', { timeout: 20_000 });
    await expect.poll(() => phone('accept'), { timeout: 20_000 }).toContain('Answering');
    const answeredAt = Date.now();
    const since = () => (Date.now() - answeredAt) / 1000;
    await expect(softphone).toHaveAttribute('data-status', 'in_progress', { timeout: 20_000 });

    // -- both sides, transcribed apart: the rep's line, the phone's, the card from the phone's
    const lines = rep.getByTestId('transcript-line');
    await expect(lines.filter({ hasText: repLine })).toHaveAttribute('data-speaker', 'rep', { timeout: 40_000 });
    await expect(lines.filter({ hasText: prospectLine })).toHaveAttribute('data-speaker', 'prospect', { timeout: 40_000 });
    await expect(rep.getByTestId('objection-card')).toHaveAttribute('data-objection', 'too_expensive');
    await expect(rep.getByTestId('objection-card')).toHaveCount(1);

    // -- the manager whispers: the rep hears the tone and is told; the phone must not
    await page.goto('/app/calls/live');
    await waitHydrated(page);
    const row = page.getByTestId('live-call');
    await expect(row.getByTestId('live-who')).toHaveText('Mia Rep');
    await expect(row.getByTestId('live-objection')).not.toHaveText('—', { timeout: 15_000 });
    await row.getByTestId('whisper-start').click();
    await expect(row.getByTestId('listen-live')).toHaveAttribute('data-state', 'whispering', { timeout: 20_000 });
    const whisper = [since(), 0];
    await expect(rep.getByTestId('phone-supervisors')).toContainText(s.whisper);
    await expect
      .poll(async () => (await heard(rep, 'softphone-audio', 1200)).probe, { timeout: 20_000, message: 'the rep hears the whisper' })
      .toBeGreaterThan(-70);
    await page.waitForTimeout(3_000);
    whisper[1] = since();
    await row.getByTestId('listen-stop').click();
    await expect(row.getByTestId('listen-live')).toHaveAttribute('data-state', 'idle');
    await page.waitForTimeout(1_000);

    // -- then barges: everyone hears them
    await row.getByTestId('barge-start').click();
    await expect(row.getByTestId('listen-live')).toHaveAttribute('data-state', 'barging', { timeout: 20_000 });
    const barge = [since(), 0];
    await expect(rep.getByTestId('phone-supervisors')).toContainText(s.barge);
    await page.waitForTimeout(4_000);
    barge[1] = since();
    await row.getByTestId('listen-stop').click();

    // -- the rep's network drops for a few seconds: the softphone says so,
    // the SDK resumes by itself, and the call goes on (LiveKit kept the
    // rep in the room, so nobody hung up)
    network.cut(5_000);
    await expect(softphone).toHaveAttribute('data-link', 'reconnecting', { timeout: 10_000 });
    await expect(rep.getByTestId('phone-reconnecting')).toBeVisible();
    await expect(softphone).toHaveAttribute('data-link', 'connected', { timeout: 40_000 });
    expect(network.refused).toBeGreaterThan(0);
    await expect(softphone).toHaveAttribute('data-status', 'in_progress');

    // -- the keypad's tones reach the phone (RFC 4733 through the SIP bridge)
    const events = new PhoneEvents(phoneCtrl);
    await events.ready();
    await rep.getByTestId('phone-keypad').click();
    for (const k of ['1', '2', '#']) {
      await rep.getByTestId(`key-${k}`).click();
      await expect.poll(() => events.params('CALL_DTMF_START').length, { timeout: 10_000, message: `the phone gets ${k}` })
        .toBeGreaterThan(['1', '2', '#'].indexOf(k));
    }
    expect(events.params('CALL_DTMF_START')).toEqual(['1', '2', '#']);
    events.close();

    // -- another microphone and speaker (Chromium's fake devices): each list
    // then shows the device the SDK reports in use, not merely the choice
    for (const testid of ['phone-input', 'phone-output']) {
      const list = rep.getByTestId(testid);
      await expect(list).toHaveAttribute('data-active', 'default');
      const ids = await list.locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
      const other = ids.find((id) => id !== 'default');
      expect(other, `${testid} offers a second device: ${ids}`).toBeTruthy();
      await list.selectOption(other!);
      await expect(list).toHaveAttribute('data-active', other!, { timeout: 10_000 });
      await expect(list).toHaveValue(other!);
    }
    await expect(softphone.getByTestId('form-error')).toHaveCount(0);

    // -- hold with music: the phone hears the music (checked in its recording), then the rep again
    await rep.getByTestId('phone-hold-music').check();
    await rep.getByTestId('phone-hold').click();
    await expect(rep.getByTestId('phone-hold')).toHaveAttribute('aria-pressed', 'true', { timeout: 10_000 });
    const held = [since(), 0];
    // A microphone switch would restart the track in the music's place.
    await expect(rep.getByTestId('phone-input')).toBeDisabled();
    await rep.waitForTimeout(4_000);
    held[1] = since();
    await rep.getByTestId('phone-hold').click();
    await expect(rep.getByTestId('phone-hold')).toHaveAttribute('aria-pressed', 'false', { timeout: 10_000 });
    await expect(rep.getByTestId('phone-input')).toBeEnabled();

    // -- the rep hangs up: the phone's side ends, the outcome dialog opens
    await rep.getByTestId('phone-hang-up').click();
    await expect(softphone).toHaveAttribute('data-status', 'completed', { timeout: 20_000 });
    await expect(rep.getByTestId('end-form')).toBeVisible();
    await rep.getByTestId('outcome-interested').check();
    await rep.getByTestId('end-submit').click();
    await expect(rep.getByTestId('session-ended')).toBeVisible();
    await repBrowser.close();
    network.stop();
    marks.push({ lang, whisper, barge, held });
    fs.writeFileSync(marksFile, JSON.stringify(marks));
  });
}
