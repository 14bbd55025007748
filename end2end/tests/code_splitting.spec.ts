// Route-level code splitting (release build made with `cargo leptos build --split`):
// the dashboard loads without any page chunk, a page's chunk is fetched the
// first time it is visited client-side, and a lazy page rendered by the
// server hydrates once its chunk has loaded.
import { test, expect, Page } from '@playwright/test';
import { newOwner, waitHydrated } from './support';

/** Records, from now on, every page chunk (`/pkg/split_*.wasm`) the page requests. */
function recordPageChunks(page: Page): string[] {
  const chunks: string[] = [];
  page.on('request', (r) => {
    const path = new URL(r.url()).pathname;
    if (/\/pkg\/split_.*\.wasm$/.test(path)) chunks.push(path);
  });
  return chunks;
}

test('the dashboard loads no page chunk; navigating fetches the page chunk on demand', async ({ page }) => {
  await newOwner(page, 'Split');
  const chunks = recordPageChunks(page);

  await page.goto('/app');
  await waitHydrated(page);
  await page.waitForLoadState('networkidle');
  expect(chunks, 'a full load of the dashboard needs no lazy page').toEqual([]);

  // Client-side navigation (the router, not a page load) to a lazy page.
  await page.getByTestId('nav-prospects').click();
  await expect(page.getByTestId('prospect-search')).toBeVisible();
  expect(chunks.some((c) => c.includes('prospects_route')), `fetched: ${chunks.join(', ')}`).toBeTruthy();
  // …and the page is live: its button opens the new-prospect dialog.
  await page.getByTestId('new-prospect').click();
  await expect(page.getByRole('dialog')).toBeVisible();
  await page.keyboard.press('Escape');

  // The chunk is fetched once: going back and forth costs nothing more.
  const before = chunks.length;
  await page.getByTestId('nav-dashboard').click();
  await expect(page.getByTestId('current-org')).toBeVisible();
  await page.getByTestId('nav-prospects').click();
  await expect(page.getByTestId('prospect-search')).toBeVisible();
  expect(chunks.length).toBe(before);
});

test('a lazy page rendered by the server hydrates after its chunk loads', async ({ page }) => {
  await newOwner(page, 'SplitSSR');
  const chunks = recordPageChunks(page);
  await page.goto('/app/members');
  await waitHydrated(page);
  // Interactive: the invite form submits through the hydrated handler (a
  // dead page would post the form natively and navigate away).
  await page.fill('#invite-email', 'split-invitee@example.com');
  await page.getByTestId('invite-form').getByRole('button').click();
  await expect(page.getByTestId('invite-link-box')).toBeVisible();
  await expect(page).toHaveURL(/\/app\/members$/);
  expect(chunks.some((c) => c.includes('members_route')), `fetched: ${chunks.join(', ')}`).toBeTruthy();
});
