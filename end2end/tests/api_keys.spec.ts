// Settings → API keys in a real browser: create a key with a chosen grant,
// see the secret once, use it against the REST API from outside the
// browser (no cookie, no CSRF token), watch the use counted, revoke it,
// and see the next request refused.
import { test, expect } from '@playwright/test';
import { newOwner, waitHydrated } from './support';

test('an admin creates a key, an integration uses it, the admin revokes it', async ({ page, request, baseURL }) => {
  await newOwner(page, 'Keys');
  await page.getByTestId('nav-api-keys').click();
  await page.waitForURL('**/app/settings/api-keys');
  await waitHydrated(page);
  await expect(page.getByTestId('no-api-keys')).toBeVisible();

  // A key for everyday work plus one extra permission.
  await page.fill('#api-key-name', 'CRM sync');
  await page.getByTestId('preset-member').click();
  await expect(page.getByTestId('perm-use_workspace')).toBeChecked();
  await expect(page.getByTestId('perm-manage_agents')).not.toBeChecked();
  await page.getByTestId('perm-export_prospects').check();
  // What stays with people is never offered.
  await expect(page.getByTestId('perm-manage_billing')).toHaveCount(0);
  await expect(page.getByTestId('perm-manage_api_keys')).toHaveCount(0);
  await page.getByTestId('create-api-key').click();

  const secretBox = page.getByTestId('api-key-secret');
  await expect(secretBox).toHaveValue(/^hdo_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/);
  const secret = await secretBox.inputValue();
  const row = page.getByTestId(`api-key-${secret.slice(0, 12)}`);
  await expect(row).toContainText('CRM sync');
  await expect(row).toContainText('Export prospects');
  await expect(row.getByTestId('last-used')).toHaveText('Never');

  // The integration: the key alone.
  const orgId = await page.evaluate(async () => {
    const r = await fetch('/api/v1/orgs', { credentials: 'same-origin' });
    return (await r.json())[0].id as string;
  });
  const headers = { authorization: `Bearer ${secret}` };
  const created = await request.post(`${baseURL}/api/v1/orgs/${orgId}/prospects`, {
    headers,
    data: { first_name: 'Paul', last_name: 'Roux', phone: '+33612345678' },
  });
  expect(created.status()).toBe(201);
  const listed = await request.get(`${baseURL}/api/v1/orgs/${orgId}/prospects`, { headers });
  expect(listed.status()).toBe(200);

  // Its use shows on the page (the list writes what was counted).
  await page.reload();
  await waitHydrated(page);
  await expect(row.getByTestId('requests')).toContainText('2');
  await expect(row.getByTestId('last-used')).not.toHaveText('Never');
  // The secret is not shown again.
  await expect(page.getByTestId('api-key-secret')).toHaveCount(0);
  expect(await page.content()).not.toContain(secret.slice(13));

  // Revoke, confirmed.
  await row.getByTestId('revoke-api-key').click();
  await page.getByTestId('confirm-revoke').click();
  await expect(row.getByTestId('revoked-badge')).toBeVisible();
  const refused = await request.get(`${baseURL}/api/v1/orgs/${orgId}/prospects`, { headers });
  expect(refused.status()).toBe(401);
  expect((await refused.json()).code).toBe('api_key_invalid');

  // The audit log names the key's creation and revocation.
  await page.getByTestId('nav-audit').click();
  await page.waitForURL('**/app/audit');
  await expect(page.getByTestId('audit-table')).toContainText('API key created');
  await expect(page.getByTestId('audit-table')).toContainText('API key revoked');
});
