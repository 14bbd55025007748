// What the phone-call specs share: the mock-stack one (calls.spec.ts) and the
// one against LiveKit's real server and SIP bridge (../livekit/calls.spec.ts).
import { Page } from '@playwright/test';

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
  data_schema: { fields: [] },
};

export const words = {
  en: { ringing: 'Ringing', inProgress: 'In progress', completed: 'Completed', connected: 'Connected', server: "this server's LiveKit project", writable: 'Writable', listenFailed: 'Could not listen' },
  fr: { ringing: 'Sonne', inProgress: 'En cours', completed: 'Terminé', connected: 'Connecté', server: 'projet LiveKit de ce serveur', writable: 'Accessible en écriture', listenFailed: 'Écoute impossible' },
};
