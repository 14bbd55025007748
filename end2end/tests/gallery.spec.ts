// The component gallery (/dev/gallery): screenshots of every component in
// each state, light and dark, catch visual breakage; the interactions prove
// the components work once hydrated.
import { test, expect } from '@playwright/test';
import { waitHydrated } from './support';

const shot = { fullPage: true, animations: 'disabled' as const, maxDiffPixelRatio: 0.02 };

test('gallery looks as it did (light and dark)', async ({ browser }) => {
  for (const colorScheme of ['light', 'dark'] as const) {
    const context = await browser.newContext({ colorScheme, viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    await page.goto('/dev/gallery');
    await waitHydrated(page);
    await expect(page.locator('html')).toHaveClass(colorScheme === 'dark' ? /dark/ : /^(?!.*dark)/);
    await expect(page).toHaveScreenshot(`gallery-${colorScheme}.png`, shot);
    await context.close();
  }
});

test('gallery components work', async ({ page }) => {
  await page.goto('/dev/gallery');
  await waitHydrated(page);

  // Inline validation appears while the value is invalid and goes once fixed.
  const live = page.locator('#g-live');
  await live.fill('ada');
  await expect(page.locator('#g-live-error')).toHaveText('Enter a valid email address');
  await expect(live).toHaveAttribute('aria-invalid', 'true');
  await live.fill('ada@example.com');
  await expect(page.locator('#g-live-error')).toHaveCount(0);

  // Switch: click and keyboard.
  const sw = page.getByRole('switch', { name: 'Switch off' });
  await expect(sw).toHaveAttribute('aria-checked', 'false');
  await sw.click();
  await expect(sw).toHaveAttribute('aria-checked', 'true');
  await sw.press('Space');
  await expect(sw).toHaveAttribute('aria-checked', 'false');

  // Tabs: arrow keys move the selection and the focus; the panel is labelled by its tab.
  await page.getByRole('tab', { name: 'First' }).click();
  await page.getByRole('tab', { name: 'First' }).press('ArrowRight');
  await expect(page.getByRole('tab', { name: 'Second' })).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByRole('tab', { name: 'Second' })).toBeFocused();
  await expect(page.getByRole('tabpanel', { name: 'Second' })).toHaveText('Panel 2');
  await page.keyboard.press('End');
  await expect(page.getByRole('tab', { name: 'Third' })).toBeFocused();
  await page.keyboard.press('ArrowRight');
  await expect(page.getByRole('tab', { name: 'First' })).toBeFocused();
  await expect(page.getByRole('tab', { name: 'First' })).toHaveAttribute('aria-controls', 'gallery-tabs-panel');

  // Table: sorting by score descending puts the highest score first; pages.
  const table = page.getByTestId('gallery-datatable');
  const firstName = table.locator('tbody tr').first().locator('td').first();
  await expect(firstName).toHaveText('Ada');
  await table.getByRole('button', { name: 'Sort by Score' }).click();
  await table.getByRole('button', { name: 'Sort by Score' }).click();
  await expect(table.locator('th').nth(1)).toHaveAttribute('aria-sort', 'descending');
  await expect(table.locator('tbody tr').first().locator('td').nth(1)).toHaveText('96');
  await table.getByRole('button', { name: 'Next' }).click();
  await expect(table).toContainText('Page 2 of 3');

  // Dialog: opens with focus inside, Tab stays inside, Escape closes and
  // gives the focus back to the button that opened it.
  const opener = page.getByTestId('gallery-open-dialog');
  await opener.click();
  const dialog = page.getByRole('dialog', { name: 'Dialog title' });
  await expect(dialog).toBeVisible();
  await expect(dialog).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(dialog.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(dialog.getByRole('button', { name: 'Confirm' })).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(dialog.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await page.keyboard.press('Shift+Tab');
  await expect(dialog.getByRole('button', { name: 'Confirm' })).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
  await expect(opener).toBeFocused();

  // Toast: announced in the live region.
  await page.getByTestId('gallery-toast-success').click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved' })).toBeVisible();
});

test('gallery follows the language', async ({ browser }) => {
  const context = await browser.newContext();
  await context.addCookies([{ name: 'i18n_pref_locale', value: 'fr', url: test.info().project.use.baseURL! }]);
  const page = await context.newPage();
  await page.goto('/dev/gallery');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Galerie de composants');
  await expect(page.getByTestId('gallery-buttons')).toContainText('Désactivé');
  await context.close();
});
