// Helpers shared by the end-to-end specs.
import { Page } from '@playwright/test';

export const PASSWORD = 'correct horse battery staple';
export const unique = () => `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;

/** Waits until app::hydrate() has taken over the page (it sets this flag). */
export async function waitHydrated(page: Page) {
  await page.waitForFunction(() => (window as any).__handooHydrated === true, null, { timeout: 20_000 });
}

/** Signs up a fresh owner and creates an organisation named `${orgPrefix} <unique>`. */
export async function newOwner(page: Page, orgPrefix: string) {
  const id = unique();
  await page.goto('/signup');
  await waitHydrated(page);
  await page.fill('#name', 'Ada Admin');
  await page.fill('#email', `ada-${id}@example.com`);
  await page.fill('#password', PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL('**/app/orgs/new');
  await waitHydrated(page);
  await page.fill('#org-name', `${orgPrefix} ${id}`);
  await page.getByRole('button', { name: 'Create organisation' }).click();
  await page.waitForURL(/\/app$/);
}

/** Logs in as the seeded demo organisation's admin: for specs late in the
 * suite, when its sign-ups from one address (20 an hour) are spent. */
export async function loginDemoAdmin(page: Page) {
  await page.goto('/login');
  await waitHydrated(page);
  await page.fill('#email', 'admin@demo.handoo.test');
  await page.fill('#password', 'handoo-demo-2026');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(/\/app$/);
}

/** Invites `email` as a member from the members page; the invitation link. */
export async function inviteMember(page: Page, email: string): Promise<string> {
  await page.goto('/app/members');
  await waitHydrated(page);
  await page.fill('#invite-email', email);
  await page.getByTestId('invite-form').locator('button[type=submit]').click();
  return page.getByTestId('invite-link').inputValue();
}

/** Accepts the invitation `link` as a new user called `name`, on `page` (a context of its own). */
export async function acceptInvite(page: Page, link: string, name: string) {
  await page.goto(new URL(link).pathname);
  await waitHydrated(page);
  await page.fill('#name', name);
  await page.fill('#password', PASSWORD);
  await page.getByTestId('invite-signup-form').locator('button[type=submit]').click();
  await page.waitForURL(/\/app$/);
}
