import { test, expect } from '@playwright/test';
import { fakeMicrophone } from '../playwright.config';

// Set by conformance/livekit/test_browser.py.
const url = process.env.LIVEKIT_WS_URL ?? '';
const token = process.env.LIVEKIT_TOKEN ?? '';
const audio = process.env.FAKE_AUDIO_FILE ?? '';
// A page that loads LiveKit's browser SDK as npm ships it (the UMD build:
// window.LivekitClient), served by the test.
const pageUrl = process.env.PAGE_URL ?? '';

// The fake microphone plays this file (a tone the listener checks for), in a loop.
test.use({ launchOptions: fakeMicrophone(audio) });

test('a browser joins the room with its microphone and the Python participant hears it', async ({ page }) => {
  expect(url, 'LIVEKIT_WS_URL').not.toBe('');
  expect(token, 'LIVEKIT_TOKEN').not.toBe('');
  expect(pageUrl, 'PAGE_URL').not.toBe('');
  // The page comes from a server on loopback (the test's own), like the app's
  // pages will: Chromium's local-network-access checks then allow it to reach
  // the LiveKit server, and a loopback origin is a secure context for getUserMedia.
  page.on('console', (m) => console.log(`[page] ${m.text()}`));
  await page.goto(pageUrl);
  await page.waitForFunction(() => (window as any).LivekitClient !== undefined);

  const outcome = await page.evaluate(
    async ({ url, token }) => {
      const { Room, RoomEvent, createLocalAudioTrack } = (window as any).LivekitClient;
      const room = new Room();
      // The listener says "heard" on the data channel once it has measured our tone.
      const heard = new Promise<string>((resolve) =>
        room.on(RoomEvent.DataReceived, (payload: Uint8Array) => resolve(new TextDecoder().decode(payload))),
      );
      await room.connect(url, token);
      // Raw microphone: noise suppression would eat a steady tone.
      const track = await createLocalAudioTrack({
        echoCancellation: false,
        noiseSuppression: false,
        autoGainControl: false,
      });
      await room.localParticipant.publishTrack(track);
      const said = await Promise.race([
        heard,
        new Promise<string>((resolve) => setTimeout(() => resolve('nothing within 45 s'), 45_000)),
      ]);
      const identity = room.localParticipant.identity;
      await room.disconnect();
      return { said, identity };
    },
    { url, token },
  );
  expect(outcome.identity).toBe('browser');
  expect(outcome.said).toBe('heard');
});
