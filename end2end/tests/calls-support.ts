// What the phone-call specs share: the mock-stack one (calls.spec.ts) and the
// one against LiveKit's real server and SIP bridge (../livekit/calls.spec.ts).
import { expect, Page } from '@playwright/test';
import { waitHydrated } from './support';

export const mockPort = process.env.HANDOO_E2E_MOCK_PORT ?? '3190';
export const serverPort = process.env.HANDOO_E2E_PORT ?? '3107';

/** Tells the LiveKit stand-in to do something (`webhook`, `hold`, `answer`…); the HTTP status. */
export async function livekit(path: string, body: object): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${mockPort}/__control/livekit/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return res.status;
}

/** A REST call to the page user's organisation, with its session and CSRF token. */
export async function orgRequest(page: Page, method: string, path: string, body?: object): Promise<any> {
  return page.evaluate(
    async ({ method, path, body }) => {
      const csrf = document.querySelector('meta[name="csrf-token"]')!.getAttribute('content')!;
      const org = (await (await fetch('/api/v1/orgs')).json())[0].id;
      const res = await fetch(`/api/v1/orgs/${org}${path}`, {
        method,
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${path}: ${res.status} ${text}`);
      return text ? JSON.parse(text) : null;
    },
    { method, path, body },
  );
}

export const voiceAgent = {
  name: 'Ava',
  description: '',
  kind: 'voice',
  system_prompt: 'You call {{prospect.first_name}} about a demo.',
  first_message: 'Hello {{prospect.first_name}}, this is Ava.',
  language: 'en',
  llm: { provider: 'openai', model: 'gpt-4.1-mini', temperature: 0.7, max_tokens: 512 },
  stt: { provider: 'deepgram', model: 'nova-3' },
  tts: { provider: 'cartesia', model: 'sonic-2', voice: '694f9389-aac1-45b6-b726-9d9369183238' },
  interruption: 'medium',
  max_call_seconds: 600,
  voicemail: { action: 'hang_up' },
  transfer_number: null,
  tools: [],
  data_schema: { fields: [{ name: 'vans', type: 'number' }] },
};

export const words = {
  en: { ringing: 'Ringing', inProgress: 'In progress', completed: 'Completed', connected: 'Connected', server: "this server's LiveKit project", writable: 'Writable', listenFailed: 'Could not listen' },
  fr: { ringing: 'Sonne', inProgress: 'En cours', completed: 'Terminé', connected: 'Connecté', server: 'projet LiveKit de ce serveur', writable: 'Accessible en écriture', listenFailed: 'Écoute impossible' },
};

/** Settings → Telephony: the server's project shown, a trunk `name` to `address` made the
 * organisation's default, and the connection tested ("Connected"). */
export async function setUpTelephony(page: Page, lang: 'en' | 'fr', name: string, address: string) {
  const w = words[lang];
  await page.goto('/app/settings/telephony');
  await waitHydrated(page);
  await expect(page.getByTestId('telephony-project-source')).toContainText(w.server);
  await page.fill('#trunk-name', name);
  await page.fill('#trunk-numbers', '+33 1 87 65 43 21');
  await page.fill('#trunk-address', address);
  await page.getByTestId('trunk-create').click();
  await expect(page.getByTestId('trunk')).toContainText('+33187654321');
  await page.locator('#default-trunk').selectOption({ label: `${name} (+33187654321)` });
  await page.getByTestId('telephony-save-defaults').click();
  await expect(page.getByTestId('trunk')).toContainText(lang === 'fr' ? 'Par défaut' : 'Default');
  await page.getByTestId('telephony-test').click();
  await expect(page.getByTestId('telephony-last-test')).toContainText(w.connected);
}
