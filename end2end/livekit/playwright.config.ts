import { defineConfig } from '@playwright/test';
import { chromium } from '../playwright.config';

/**
 * Browser tests against LiveKit's own server. Not run on their own: the
 * LiveKit conformance suite starts the stack and runs each spec with what it
 * needs in the environment — microphone.spec.ts from test_browser.py (a room
 * URL and token), calls.spec.ts from test_handoo_calls.py (Handoo's server,
 * the phone and the agent worker).
 */
export default defineConfig({
  testDir: '.',
  timeout: 90_000,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  // The call page plays what it hears without a click of its own.
  use: { launchOptions: { ...chromium, args: [...chromium.args, '--autoplay-policy=no-user-gesture-required'] } },
});
