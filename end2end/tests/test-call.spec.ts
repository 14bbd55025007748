// The agent editor's Test call, in Chromium: the fake microphone plays
// espeak-ng speech (after a pause: the agent greets first) through the real
// capture worklet and WebSocket; the server runs the voice pipeline (Silero
// VAD, the mock vendors' Deepgram, OpenAI chat and speech); the agent's
// voice comes back through the playback worklet — its loudness is what the
// page reports having played. The mock STT cannot recognise words, so the
// test scripts what it "hears"; the mock model turns "budget is …" into an
// updateData call, which the panel shows.
import { test, expect } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loginDemoAdmin, waitHydrated } from './support';
import { orgRequest, voiceAgent } from './calls-support';
import { fakeMicrophone } from '../playwright.config';

const dir = mkdtempSync(join(tmpdir(), 'handoo-test-call-'));
const raw = join(dir, 'answer-raw.wav');
const wav = join(dir, 'answer.wav');
execFileSync('espeak-ng', ['-s', '150', '-w', raw, 'My budget is four hundred and fifty euros.']);
// Six seconds of silence first (espeak-ng drops a leading break): the agent greets uninterrupted.
execFileSync('sox', [raw, wav, 'pad', '6', '4']);

test.use({ launchOptions: fakeMicrophone(`${wav}%noloop`) });

const mockPort = process.env.HANDOO_E2E_MOCK_PORT ?? '3190';

for (const lang of ['en', 'fr'] as const) {
  test(`a test call: the agent is heard and the caller's answer fills its data (${lang})`, async ({ page, context }) => {
    // The seeded demo organisation's admin: the suite's sign-ups per address are spent by now.
    await loginDemoAdmin(page);
    if (lang === 'fr') {
      await context.addCookies([{ name: 'i18n_pref_locale', value: 'fr', url: test.info().project.use.baseURL! }]);
    }
    await waitHydrated(page);
    const agent = await orgRequest(page, 'POST', '/agents', {
      settings: {
        ...voiceAgent,
        name: `Ava ${lang} ${Date.now()}`,
        tts: { provider: 'openai', model: 'gpt-4o-mini-tts', voice: 'alloy' },
        tools: ['updateData', 'endCall'],
        data_schema: { fields: [{ name: 'budget', type: 'string', description: 'Their budget' }] },
      },
    });
    const res = await fetch(`http://127.0.0.1:${mockPort}/__control/stt-script`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ utterances: ['My budget is 450 euros.'] }),
    });
    expect(res.status).toBe(204);

    await page.goto(`/app/agents/${agent.id}`);
    await waitHydrated(page);
    await expect(page.getByTestId('test-call')).toContainText(lang === 'en' ? 'Test call' : 'Appel de test');
    await page.getByTestId('test-call-toggle').click();
    await expect(page.getByTestId('test-call-live')).toBeVisible();
    // The greeting, rendered with the sample prospect, on screen and out of the speakers
    // (the mock voice is a tone as long as the text: a short greeting is ~0.3 s loud).
    await expect(page.getByTestId('test-call-line').first()).toHaveText(/Hello Alex, this is Ava\./, { timeout: 15_000 });
    await expect
      .poll(async () => Number(await page.getByTestId('test-call').getAttribute('data-loud-ms')), { timeout: 15_000 })
      .toBeGreaterThan(150);
    // The caller's answer (after the pause) fills the agent's data.
    await expect(page.locator('[data-testid="test-call-value"][data-field="budget"]')).toHaveText('450 euros', { timeout: 30_000 });
    await expect(page.locator('[data-testid="test-call-line"][data-speaker="prospect"]').first()).toContainText('My budget is 450 euros.');
    // Hanging up ends it; the page says so.
    await page.getByTestId('test-call-toggle').click();
    await expect(page.getByTestId('test-call-live')).toBeHidden();
  });
}
