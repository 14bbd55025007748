import { defineConfig } from '@playwright/test';
import { chromium } from '../playwright.config';

/**
 * Browser tests against LiveKit's own server. Not run on their own: the
 * LiveKit conformance suite (conformance/livekit/test_browser.py) starts the
 * server, joins the room from Python and runs this with the URL and token in
 * the environment.
 */
export default defineConfig({
  testDir: '.',
  timeout: 90_000,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: { launchOptions: chromium },
});
