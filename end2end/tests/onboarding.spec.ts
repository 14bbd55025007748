import { test, expect, Page } from '@playwright/test';
import { PASSWORD, unique, waitHydrated } from './support';

async function logIn(page: Page, email: string, password: string) {
  await page.goto('/login');
  await waitHydrated(page);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(/\/app$/);
}

test('sign up, create an organisation, invite a member who accepts in another browser', async ({ page, browser }) => {
  const id = unique();
  const ownerEmail = `owner-${id}@example.com`;
  const memberEmail = `member-${id}@example.com`;
  const orgName = `Acme ${id}`;

  await page.goto('/signup');
  await waitHydrated(page);
  await page.fill('#name', 'Olivia Owner');
  await page.fill('#email', ownerEmail);
  await page.fill('#password', PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL('**/app/orgs/new');

  await waitHydrated(page);
  await page.fill('#org-name', orgName);
  await page.getByRole('button', { name: 'Create organisation' }).click();
  await page.waitForURL(/\/app$/);
  await expect(page.getByTestId('current-org')).toHaveText(orgName);

  await page.getByTestId('nav-members').click();
  await page.waitForURL('**/app/members');
  await page.fill('#invite-email', memberEmail);
  await page.getByRole('button', { name: 'Send invitation' }).click();
  const link = await page.getByTestId('invite-link').inputValue();
  expect(link).toContain('/invite/');
  await expect(page.getByTestId('invitations')).toContainText(memberEmail);

  // The invitee, in a separate browser context (no shared cookies).
  const other = await browser.newContext();
  const guest = await other.newPage();
  await guest.goto(new URL(link).pathname);
  await waitHydrated(guest);
  await expect(guest.getByTestId('invite-title')).toContainText(orgName);
  await guest.fill('#name', 'Mia Member');
  await guest.fill('#password', PASSWORD);
  await guest.getByRole('button', { name: 'Create account and join' }).click();
  await guest.waitForURL(/\/app$/);
  await expect(guest.getByTestId('current-org')).toHaveText(orgName);
  await expect(guest.getByTestId('user-email')).toHaveText(memberEmail);

  // The owner sees the new member.
  await page.reload();
  await expect(page.getByTestId('members-table')).toContainText(memberEmail);
  await other.close();
});

test('hydration: the password rule is checked in the browser as you type', async ({ page }) => {
  await page.goto('/signup');
  await waitHydrated(page);
  await page.fill('#email', 'someone@example.com');
  await page.locator('#password').pressSequentially('short');
  // No request was made: this message comes from domain::validation compiled to wasm.
  await expect(page.locator('#password-error')).toContainText('too weak');
  await page.locator('#password').pressSequentially(' but now long enough');
  await expect(page.locator('#password-error')).toHaveCount(0);
  await expect(page.locator('#password-hint')).toHaveText('Strong enough');
});

test('sidebar links navigate inside the app (no page load) and mark the current page', async ({ page }) => {
  await logIn(page, 'member@demo.handoo.test', 'handoo-demo-2026');
  await waitHydrated(page);
  await expect(page.getByTestId('nav-dashboard')).toHaveAttribute('aria-current', 'page');
  // A full page load would wipe this.
  await page.evaluate(() => { (window as any).__sameDocument = true; });
  await page.getByTestId('nav-members').click();
  await page.waitForURL(/\/app\/members$/);
  await expect(page.getByTestId('nav-members')).toHaveAttribute('aria-current', 'page');
  await expect(page.getByTestId('nav-dashboard')).not.toHaveAttribute('aria-current', /.*/);
  await page.getByTestId('nav-dashboard').click();
  await page.waitForURL(/\/app$/);
  await expect(page.getByTestId('dashboard-title')).toBeVisible();
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
});

test('switch to French: the interface is translated and the choice persists', async ({ page }) => {
  await logIn(page, 'member@demo.handoo.test', 'handoo-demo-2026');
  await expect(page.getByTestId('nav-members')).toHaveText('Members');

  await page.getByTestId('lang-fr').click();
  await expect(page.getByTestId('nav-members')).toHaveText('Membres');
  await expect(page.getByTestId('dashboard-title')).toContainText('Bienvenue');
  await expect(page.locator('html')).toHaveAttribute('lang', 'fr');

  // Saved on the account: a fresh browser logging in gets French.
  await page.reload();
  await expect(page.getByTestId('nav-members')).toHaveText('Membres');
  const ctx = await page.context().browser()!.newContext();
  const p2 = await ctx.newPage();
  await logIn(p2, 'member@demo.handoo.test', 'handoo-demo-2026');
  await expect(p2.getByTestId('nav-members')).toHaveText('Membres');
  // Back to English for other tests.
  await p2.getByTestId('lang-en').click();
  await expect(p2.getByTestId('nav-members')).toHaveText('Members');
  await ctx.close();
});

test('a visitor who is not signed in keeps the language they picked', async ({ browser }) => {
  // A fresh context: no account, no cookie. The browser writes the language
  // cookie itself and the server renders the next page in it.
  const ctx = await browser.newContext({ locale: 'en-US' });
  const page = await ctx.newPage();
  await page.goto('/login');
  await waitHydrated(page);
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  await page.getByTestId('lang-fr').click();
  await expect(page.getByRole('button', { name: 'Se connecter' })).toBeVisible();
  expect((await ctx.cookies()).find((c) => c.name === 'i18n_pref_locale')?.value).toBe('fr');
  await page.goto('/signup');
  await expect(page.locator('html')).toHaveAttribute('lang', 'fr');
  await waitHydrated(page);
  await page.getByTestId('lang-en').click();
  await page.reload();
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  await ctx.close();
  // No cookie yet: the browser's own language decides.
  const frCtx = await browser.newContext({ locale: 'fr-FR' });
  const frPage = await frCtx.newPage();
  await frPage.goto('/login');
  await expect(frPage.locator('html')).toHaveAttribute('lang', 'fr');
  await waitHydrated(frPage);
  await expect(frPage.getByRole('button', { name: 'Se connecter' })).toBeVisible();
  await frCtx.close();
});

test('wrong password shows a translated error and stays on the login page', async ({ page }) => {
  await page.goto('/login');
  await waitHydrated(page);
  await page.fill('#email', 'owner@demo.handoo.test');
  await page.fill('#password', 'definitely not it');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByTestId('form-error')).toHaveText('Wrong email or password.');
  await expect(page).toHaveURL(/\/login$/);
});

test('logged-out visitors are sent to the login page, and back where they were going after it', async ({ page }) => {
  const email = `back-${unique()}@example.com`;
  await page.goto('/signup');
  await waitHydrated(page);
  await page.fill('#name', 'Bea Back');
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL('**/app/orgs/new');
  // Settled first: a request of this page still in flight when the cookies
  // go would come back with a CSRF cookie of its own, racing the login
  // page's (seen once: "Security token invalid").
  await waitHydrated(page);
  await page.context().clearCookies();

  await page.goto('/app/account?tab=security');
  await page.waitForURL(/\/login\?next=%2Fapp%2Faccount%3Ftab%3Dsecurity$/);
  await expect(page.getByRole('heading', { name: 'Log in to Handoo' })).toBeVisible();
  await waitHydrated(page);
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(/\/app\/account\?tab=security$/);
  await waitHydrated(page);

  // A `next` that leaves the site is ignored.
  await page.context().clearCookies();
  await page.goto('/login?next=//evil.example/');
  await waitHydrated(page);
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(/127\.0\.0\.1:\d+\/app$/);
});

test('an invitation for an existing account: log in, come back to it, accept', async ({ page, browser }) => {
  const id = unique();
  const memberEmail = `known-${id}@example.com`;
  // The invitee already has an account.
  const other = await browser.newContext();
  const guest = await other.newPage();
  await guest.goto('/signup');
  await waitHydrated(guest);
  await guest.fill('#name', 'Kim Known');
  await guest.fill('#email', memberEmail);
  await guest.fill('#password', PASSWORD);
  await guest.getByRole('button', { name: 'Create account' }).click();
  await guest.waitForURL('**/app/orgs/new');
  await other.clearCookies();

  await page.goto('/signup');
  await waitHydrated(page);
  await page.fill('#name', 'Olga Owner');
  await page.fill('#email', `olga-${id}@example.com`);
  await page.fill('#password', PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL('**/app/orgs/new');
  await waitHydrated(page);
  await page.fill('#org-name', `Known ${id}`);
  await page.getByRole('button', { name: 'Create organisation' }).click();
  await page.waitForURL(/\/app$/);
  await page.getByTestId('nav-members').click();
  await page.waitForURL('**/app/members');
  await page.fill('#invite-email', memberEmail);
  await page.getByRole('button', { name: 'Send invitation' }).click();
  const link = new URL(await page.getByTestId('invite-link').inputValue()).pathname;

  await guest.goto(link);
  await waitHydrated(guest);
  await guest.getByTestId('invite-login').click();
  await guest.waitForURL(/\/login\?next=/);
  await waitHydrated(guest);
  await guest.fill('#email', memberEmail);
  await guest.fill('#password', PASSWORD);
  await guest.getByRole('button', { name: 'Log in' }).click();
  await guest.waitForURL((u) => u.pathname === link);
  await waitHydrated(guest);
  await guest.getByTestId('accept-invite').click();
  await guest.waitForURL(/\/app$/);
  await expect(guest.getByTestId('current-org')).toHaveText(`Known ${id}`);
  await other.close();
});

test('on a narrow screen the menu is a drawer: backdrop and Escape close it, closed links are not tabbable', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 700, height: 900 } });
  const page = await context.newPage();
  const id = unique();
  await page.goto('/signup');
  await waitHydrated(page);
  await page.fill('#name', 'Nadia Narrow');
  await page.fill('#email', `narrow-${id}@example.com`);
  await page.fill('#password', PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL('**/app/orgs/new');
  await waitHydrated(page);
  await page.fill('#org-name', `Narrow ${id}`);
  await page.getByRole('button', { name: 'Create organisation' }).click();
  await page.waitForURL(/\/app$/);
  await waitHydrated(page);

  const members = page.getByTestId('nav-members');
  await expect(members).toBeHidden();
  await page.getByTestId('menu-button').click();
  await expect(members).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Main navigation' })).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(members).toBeHidden();
  await expect(page.getByTestId('menu-button')).toBeFocused();
  await page.getByTestId('menu-button').click();
  await page.getByTestId('sidebar-backdrop').click({ position: { x: 650, y: 450 } });
  await expect(members).toBeHidden();
  await context.close();
});

test('an OAuth failure sent back to the login page is explained', async ({ page }) => {
  await page.goto('/login?error=oauth_failed');
  await expect(page.getByTestId('form-error')).toHaveText('Sign-in with Google failed. Please try again.');
});
