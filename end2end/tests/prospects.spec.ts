import { test, expect } from '@playwright/test';
import { newOwner, waitHydrated } from './support';

// A French export: semicolons, a header the mapper does not know
// ("Mobile perso"), one bad phone number, one duplicate inside the file.
const CSV = [
  'Prénom;Nom;Entreprise;Mobile perso;Courriel;Secteur',
  'Amélie;Roux;Café du Port;06 50 00 00 01;amelie@port.fr;Retail',
  'Bruno;Petit;Boulangerie Petit;06 50 00 00 02;bruno@petit.fr;Food',
  'Chloé;Faure;Faure SA;12;chloe@faure.fr;Retail',
  'Denis;Moreau;Garage Moreau;06 50 00 00 03;denis@moreau.fr;Auto',
  'Émile;Roux;Café du Port;06 50 00 00 01;;Retail',
].join('\n');

test('import a CSV with a bad row, fix the mapping, import, search, open a prospect, add a note and a tag', async ({ page }) => {
  await newOwner(page, 'Prospects');
  await page.getByTestId('nav-prospects').click();
  await page.waitForURL('**/app/prospects');
  await waitHydrated(page);
  await expect(page.getByText('No prospects match')).toBeVisible();

  await page.getByTestId('import-prospects').click();
  await page.waitForURL('**/app/prospects/import');
  await waitHydrated(page);
  await page.getByTestId('csv-file').setInputFiles({ name: 'salon.csv', mimeType: 'text/csv', buffer: Buffer.from(CSV, 'utf-8') });
  await expect(page.getByTestId('file-info')).toContainText('5 rows');

  // "Mobile perso" was not recognised: phones are not imported, and the
  // row without an email is reported as unreachable.
  await expect(page.getByTestId('map-Mobile perso')).toHaveValue('ignore');
  await expect(page.getByTestId('map-Courriel')).toHaveValue('email');
  await page.getByTestId('dry-run').click();
  await expect(page.getByTestId('report-create')).toHaveText('4');
  await expect(page.getByTestId('report-row-5')).toContainText('no phone or email');

  // Fix the mapping: that column is the phone; Secteur becomes a new custom field.
  await page.getByTestId('map-Mobile perso').selectOption('phone');
  await expect(page.getByTestId('dry-run-report')).toHaveCount(0);
  await page.getByTestId('map-Secteur').selectOption('new');
  await page.getByTestId('default-region').fill('FR');
  await page.getByTestId('dry-run').click();
  await expect(page.getByTestId('report-total')).toHaveText('5');
  await expect(page.getByTestId('report-create')).toHaveText('3');
  await expect(page.getByTestId('report-invalid')).toHaveText('1');
  await expect(page.getByTestId('report-dup-file')).toHaveText('1');
  await expect(page.getByTestId('report-row-3')).toContainText('invalid phone “12”');
  await expect(page.getByTestId('report-row-5')).toContainText('same phone as row 1');

  // Run it: a background job with a progress bar, resumable from the URL.
  await page.getByTestId('start-import').click();
  await page.waitForURL(/\/app\/prospects\/import\?job=/);
  await expect(page.getByTestId('import-job')).toHaveAttribute('data-state', 'succeeded', { timeout: 20_000 });
  await expect(page.getByTestId('import-status')).toContainText('3 created');
  await page.reload();
  await waitHydrated(page);
  await expect(page.getByTestId('import-job')).toHaveAttribute('data-state', 'succeeded');

  // Search, then open the prospect.
  await page.getByTestId('back-to-list').click();
  await page.waitForURL('**/app/prospects');
  await waitHydrated(page);
  await expect(page.getByTestId('page-info')).toContainText('3 prospects');
  await page.getByTestId('prospect-search').fill('cafe');
  await expect(page.getByTestId('prospect-table').locator('tbody tr')).toHaveCount(1);
  await expect(page.getByTestId('prospect-row-amelie@port.fr')).toContainText('Café du Port');
  await page.getByTestId('prospect-search').fill('06 50 00 00 0');
  await expect(page.getByTestId('prospect-table').locator('tbody tr')).toHaveCount(3);
  await page.getByTestId('prospect-search').fill('amelie');
  await page.getByTestId('prospect-row-amelie@port.fr').getByRole('link').click();
  await page.waitForURL(/\/app\/prospects\/[0-9a-f-]{36}$/);
  await waitHydrated(page);
  await expect(page.getByTestId('prospect-name')).toHaveText('Amélie Roux');

  // A note and a tag, both on the timeline.
  await page.getByTestId('note-body').fill('Met at the trade show, call back in March.');
  await page.getByTestId('add-note').click();
  await expect(page.getByTestId('notes')).toContainText('Met at the trade show');
  await page.getByTestId('add-tag').fill('VIP');
  await page.getByTestId('add-tag').press('Enter');
  await expect(page.getByTestId('tag-vip')).toBeVisible();
  await expect(page.getByTestId('activity')).toContainText('Tags added: vip');

  // Inline edit and status change land in the activity timeline too.
  await page.getByTestId('field-title').click();
  await page.getByTestId('edit-title').fill('Owner');
  await page.getByTestId('edit-title').press('Enter');
  await expect(page.getByTestId('field-title')).toHaveText('Owner');
  await page.getByTestId('prospect-status').selectOption('interested');
  await expect(page.getByTestId('activity')).toContainText('Status: New → Interested');

  // The tag filters the list.
  await page.goto('/app/prospects');
  await waitHydrated(page);
  await page.getByTestId('filter-tag').selectOption('vip');
  await expect(page.getByTestId('prospect-table').locator('tbody tr')).toHaveCount(1);
  // The list's state is in the URL: a reload keeps it.
  await expect(page).toHaveURL(/\/app\/prospects\?tag=vip$/);
  await page.reload();
  await waitHydrated(page);
  await expect(page.getByTestId('filter-tag')).toHaveValue('vip');
  await expect(page.getByTestId('prospect-table').locator('tbody tr')).toHaveCount(1);
});

test('bulk delete can be undone', async ({ page }) => {
  await newOwner(page, 'Prospects');
  await page.goto('/app/prospects');
  await waitHydrated(page);
  for (const [name, phone] of [['Alpha', '+33 6 40 00 00 01'], ['Beta', '+33 6 40 00 00 02']]) {
    await page.getByTestId('new-prospect').click();
    await page.getByTestId('np-last').fill(name);
    await page.getByTestId('np-phone').fill(phone);
    await page.getByTestId('np-submit').click();
    await page.waitForURL(/\/app\/prospects\/[0-9a-f-]{36}$/);
    await page.goto('/app/prospects');
    await waitHydrated(page);
  }
  await expect(page.getByTestId('prospect-table').locator('tbody tr')).toHaveCount(2);
  await page.getByTestId('select-page').check();
  await expect(page.getByTestId('selected-count')).toHaveText('2 selected');
  await page.getByTestId('bulk-delete').click();
  await page.getByTestId('confirm-bulk-delete').click();
  await expect(page.getByText('No prospects match')).toBeVisible();
  await page.getByTestId('undo-delete').click();
  await expect(page.getByTestId('prospect-table').locator('tbody tr')).toHaveCount(2);
});

test('withdrawn consent opts out, the number is barred, and a do-not-call list imports from a file', async ({ page }) => {
  await newOwner(page, 'Compliance');
  await page.goto('/app/prospects');
  await waitHydrated(page);
  await page.getByTestId('new-prospect').click();
  await page.getByTestId('np-last').fill('Consent');
  await page.getByTestId('np-phone').fill('+33 6 41 00 00 01');
  await page.getByTestId('np-submit').click();
  await page.waitForURL(/\/app\/prospects\/[0-9a-f-]{36}$/);
  await waitHydrated(page);
  await expect(page.getByTestId('call-history-empty')).toBeVisible();

  // Half-typed note survives a save elsewhere on the page.
  await page.getByTestId('note-body').fill('Draft that must survive');
  await page.getByTestId('prospect-status').selectOption('contacted');
  await expect(page.getByTestId('activity')).toContainText('Status: New → Contacted');
  await expect(page.getByTestId('note-body')).toHaveValue('Draft that must survive');

  // The prospect withdraws consent on a call.
  await page.getByTestId('consent-source').fill('Phone call');
  await page.getByTestId('consent-granted').uncheck();
  await page.getByTestId('add-consent').click();
  await expect(page.getByTestId('consents')).toContainText('Withdrawn');
  await expect(page.getByTestId('flag-opted-out')).toBeChecked();
  await expect(page.getByTestId('call-status')).toContainText('Opted out');
  await expect(page.getByTestId('activity')).toContainText('Opted out: No → Yes');

  // The number is on the organisation's list, with a translated reason.
  await page.goto('/app/settings/prospects');
  await waitHydrated(page);
  await expect(page.getByTestId('dnc-+33641000001')).toContainText('Opted out');

  // A list from a file: a header, two numbers (one already listed), junk.
  await page.getByTestId('dnc-import').setInputFiles({
    name: 'dnc.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from('phone\n+33 6 41 00 00 02\n+33641000001\nnot a number\n', 'utf-8'),
  });
  await expect(page.getByTestId('dnc-import-result')).toContainText('1 added, 1 already listed, 1 invalid lines (4)');
  await expect(page.getByTestId('dnc-+33641000002')).toBeVisible();
});
