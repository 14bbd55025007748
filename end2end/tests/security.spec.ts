// The Content-Security-Policy in a real browser: every page hydrates with it
// on and nothing on them is refused by it; a page framed by another origin
// is refused.
import { test, expect, Page } from '@playwright/test';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { newOwner, waitHydrated } from './support';

/** Collects every CSP violation the page reports (the listener is injected by the browser, outside the policy). */
async function recordViolations(page: Page): Promise<() => Promise<string[]>> {
  await page.addInitScript(() => {
    (window as any).__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      (window as any).__csp.push(`${e.violatedDirective} blocked ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  return () => page.evaluate(() => (window as any).__csp as string[]);
}

async function visit(page: Page, path: string, violations: () => Promise<string[]>) {
  const res = await page.goto(path);
  expect(res?.status(), path).toBe(200);
  const csp = res?.headers()['content-security-policy'] ?? '';
  expect(csp, path).toContain("frame-ancestors 'none'");
  expect(csp.split(';').find((d) => d.trim().startsWith('script-src')), path).not.toContain('unsafe-inline');
  await waitHydrated(page);
  expect(await violations(), `${path}: CSP violations`).toEqual([]);
}

test('every page hydrates under the Content-Security-Policy', async ({ page }) => {
  const violations = await recordViolations(page);
  for (const path of ['/login', '/signup']) {
    await visit(page, path, violations);
  }
  await newOwner(page, 'CSP');
  for (const path of [
    '/app',
    '/app/settings',
    '/app/settings/providers',
    '/app/settings/api-keys',
    '/app/agents',
    '/app/agents/new',
    '/app/prospects',
    '/app/prospects/import',
    '/app/settings/prospects',
    '/app/copilot',
    '/app/knowledge',
    '/app/scripts',
    '/app/scripts/new',
    '/app/members',
    '/app/audit',
    '/app/account',
  ]) {
    await visit(page, path, violations);
  }
  // Client-side navigation and the hydrated handlers still work.
  await page.getByTestId('nav-prospects').click();
  await expect(page.getByTestId('prospect-search')).toBeVisible();
  expect(await violations()).toEqual([]);
});

test('another origin cannot frame the app', async ({ page, baseURL }) => {
  // A second origin on loopback (another port) that frames the login page,
  // and, as a control, a page of its own that framing does show.
  const server = http.createServer((req, res) => {
    res.setHeader('content-type', 'text/html');
    if (req.url === '/own') {
      res.end('<p id="own">framable</p>');
    } else {
      res.end(`<iframe id="app" src="${baseURL}/login"></iframe><iframe id="own" src="/own"></iframe>`);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  try {
    await page.goto(`http://127.0.0.1:${port}/`);
    await expect(page.frameLocator('#own').locator('#own')).toHaveText('framable');
    // The app's frame never renders the login form.
    await page.waitForTimeout(1_000);
    await expect(page.frameLocator('#app').locator('#email')).toHaveCount(0);
    const appFrame = page.frames().find((f) => f.url().includes('/login') || f.url().startsWith('chrome-error'));
    expect(appFrame === undefined || appFrame.url().startsWith('chrome-error'), appFrame?.url()).toBeTruthy();
  } finally {
    server.close();
  }
});

test('the sign-up form explains why a password is too guessable', async ({ page }) => {
  await page.goto('/signup');
  await waitHydrated(page);
  await page.fill('#name', 'Guess Able');
  await page.fill('#email', `guess-${Date.now()}@example.com`);
  await page.fill('#password', 'asdfghjkl;');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByText('Keyboard patterns like “qwerty” are guessed first.')).toBeVisible();
  await expect(page).toHaveURL(/\/signup/);
});
