// Campaigns and analytics against the mocks: a manager creates a campaign in
// the UI with a script and a line, changes it, adds prospects from a saved
// view, starts it and watches its figures move live as the LiveKit stand-in
// answers the dials; pauses and resumes it; opens a call to see the script it
// followed; then opens the analytics page and sees its charts and tables.
import { test, expect } from '@playwright/test';
import { newOwner, waitHydrated } from './support';
import { livekit, orgRequest, serverPort, voiceAgent } from './calls-support';


const words = {
  en: { active: 'Active', paused: 'Paused', byManager: 'Paused by a manager', added: '3 added', analytics: 'Analytics', perDay: 'Calls per day' },
  fr: { active: 'Active', paused: 'En pause', byManager: 'Mise en pause par un responsable', added: '3 ajoutés', analytics: 'Statistiques', perDay: 'Appels par jour' },
};

for (const lang of ['en', 'fr'] as const) {
  test(`create a campaign from a saved view, run it live, pause and resume, then read the analytics (${lang})`, async ({ page, context }) => {
    const w = words[lang];
    await newOwner(page, `Campaigners ${lang}`);
    if (lang === 'fr') {
      await context.addCookies([{ name: 'i18n_pref_locale', value: 'fr', url: test.info().project.use.baseURL! }]);
    }
    await waitHydrated(page);
    // Calling hours around the clock, a voice agent, a line, three prospects and a view of them.
    await orgRequest(page, 'PUT', '/compliance', { window_start_minute: 0, window_end_minute: 1440, default_region: 'FR' });
    await orgRequest(page, 'POST', '/agents', { settings: voiceAgent });
    const trunk = await orgRequest(page, 'POST', '/telephony/trunks', { name: 'Main', address: '93.184.216.34', numbers: ['+33187654321'] });
    await orgRequest(page, 'PUT', '/telephony', { default_trunk_id: trunk.id });
    for (const [i, first] of ['Anna', 'Bruno', 'Chloé'].entries()) {
      await orgRequest(page, 'POST', '/prospects', { first_name: first, last_name: `Spring${lang}`, phone: `+3361234572${i}` });
    }
    await orgRequest(page, 'POST', '/saved-views', { name: `Spring ${lang}`, query: { filter: { search: `Spring${lang}` } }, columns: [] });
    // The script the agent is to follow (the agent speaks English).
    await orgRequest(page, 'POST', '/scripts', {
      name: 'Fleet pitch', language: 'en',
      content: { phases: [
        { phase: 'opening', text: 'Hello {{prospect.first_name}}, this is {{agent.name}}.' },
        { phase: 'closing', text: 'Shall we book a demo?' },
      ] },
    });
    // LiveKit answers every dial at once and reports it here.
    expect(await livekit('webhook', { url: `http://127.0.0.1:${serverPort}/webhooks/livekit`, lifecycle: true })).toBe(204);
    expect(await livekit('hold', { hold: false })).toBe(204);

    // A new campaign: two lines, every day around the clock, on UTC.
    await page.goto('/app/campaigns');
    await waitHydrated(page);
    await page.getByTestId('new-campaign-open').click();
    await page.getByTestId('campaign-name').fill(`Spring push ${lang}`);
    await page.getByTestId('campaign-agent').selectOption({ label: 'Ava' });
    await page.getByTestId('campaign-script').selectOption({ label: 'Fleet pitch (EN)' });
    await page.getByTestId('campaign-line').selectOption({ label: 'Main · +33187654321' });
    await page.getByTestId('campaign-concurrency').fill('1');
    await page.getByTestId('campaign-day-sat').check();
    await page.getByTestId('campaign-day-sun').check();
    await page.getByTestId('campaign-hours').fill('00:00-24:00');
    await page.getByTestId('campaign-zone-fixed').check();
    await page.getByTestId('campaign-zone').fill('UTC');
    await page.getByTestId('campaign-create').click();
    await page.waitForURL(/\/app\/campaigns\/[0-9a-f-]{36}$/);
    await waitHydrated(page);
    await expect(page.getByTestId('campaign-title')).toHaveText(`Spring push ${lang}`);
    await expect(page.getByTestId('campaign-setting-script')).toHaveText('Fleet pitch (v1)');
    await expect(page.getByTestId('campaign-setting-line')).toHaveText('Main · +33187654321');
    await expect(page.getByTestId('campaign-setting-hours')).toContainText('00:00-24:00');

    // Changed before it starts: the form holds what was saved; two lines, not one.
    await page.getByTestId('campaign-edit').click();
    await expect(page.getByTestId('campaign-concurrency')).toHaveValue('1');
    await expect(page.getByTestId('campaign-hours-sun')).toHaveValue('00:00-24:00');
    await page.getByTestId('campaign-concurrency').fill('2');
    await page.getByTestId('campaign-save').click();
    await expect(page.getByTestId('campaign-setting-concurrency')).toHaveText('2');
    await expect(page.getByTestId('campaign-setting-script')).toHaveText('Fleet pitch (v1)');

    // Prospects from the saved view: all three added.
    await page.getByTestId('add-view').selectOption({ label: `Spring ${lang}` });
    await page.getByTestId('add-view-submit').click();
    await expect(page.getByTestId('add-report-added')).toContainText(w.added);
    await expect(page.getByTestId('stat-queued')).toHaveText('3');

    // Started: two lines fill, the third waits — the figures move without a reload.
    await page.getByTestId('campaign-start').click();
    await expect(page.getByTestId('campaign-status')).toContainText(w.active);
    await expect(page.getByTestId('stat-in_call')).toHaveText('2', { timeout: 15_000 });
    await expect(page.getByTestId('stat-queued')).toHaveText('1');
    await expect(page.getByTestId('stat-attempts')).toHaveText('2');

    // Paused by hand, with the reason; resumed.
    await page.getByTestId('campaign-pause').click();
    await expect(page.getByTestId('campaign-status')).toHaveAttribute('data-status', 'paused');
    await expect(page.getByTestId('campaign-paused-reason')).toContainText(w.byManager);
    await page.getByTestId('campaign-resume').click();
    await expect(page.getByTestId('campaign-status')).toHaveAttribute('data-status', 'active');
    await expect(page.getByTestId('campaign-paused-reason')).toHaveCount(0);

    // An attempt's call names the campaign and the script version it followed.
    await page.getByTestId('member-call').first().click();
    await page.waitForURL(/\/app\/calls\/[0-9a-f-]{36}$/);
    await waitHydrated(page);
    await expect(page.getByTestId('call-script')).toHaveText('Fleet pitch (v1)');
    await page.getByTestId('call-campaign').click();
    await page.waitForURL(/\/app\/campaigns\/[0-9a-f-]{36}$/);
    await waitHydrated(page);

    // Analytics: the calls counted, a chart drawn, its table beside it.
    await page.getByTestId('nav-analytics').click();
    await page.waitForURL('**/app/analytics');
    await waitHydrated(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(w.analytics);
    await expect(page.getByTestId('kpi-calls')).toHaveText('2');
    await expect(page.getByText(w.perDay)).toBeVisible();
    await expect(page.locator('.chart svg').first()).toBeVisible({ timeout: 10_000 });
    await expect(page.getByTestId('table-funnel')).toContainText('2');
    await expect(page.getByTestId('csv-days')).toHaveAttribute('href', /export\.csv\?table=days/);
  });
}
