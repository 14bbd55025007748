// Billing against the Polar stand-in: an Owner sees the free plan in force
// and what the others cost, chooses one, pays on Polar's (mock) checkout
// page, comes back to a page that waits for Polar's signed webhook and then
// shows the plan active. A call made meanwhile is metered: its minutes show
// on the billing page's meter, in the usage page's table per day and per
// agent, and in the cost estimate of a plan that charges per minute.
import { test, expect } from '@playwright/test';
import { newOwner, waitHydrated } from './support';
import { livekit, mockPort, orgRequest, serverPort, voiceAgent } from './calls-support';

/** Tells the Polar stand-in something (`webhook`…); the HTTP status. */
async function polar(path: string, body: object): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${mockPort}/__control/polar/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return res.status;
}

const words = {
  en: { active: 'Active', starter: 'Starter', estimate: 'Estimated cost so far this period: $199.02', perMinute: '+ $0.02 per call minute' },
  fr: { active: 'Actif', starter: 'Starter', estimate: 'Coût estimé de la période à ce jour : 199,02 $', perMinute: '+ 0,02 $ par minute d\'appel' },
};

for (const lang of ['en', 'fr'] as const) {
  test(`an owner buys a plan through Polar's checkout and sees it active, then a call in the usage (${lang})`, async ({ page, context }) => {
    const w = words[lang];
    await newOwner(page, `Payers ${lang}`);
    if (lang === 'fr') {
      await context.addCookies([{ name: 'i18n_pref_locale', value: 'fr', url: test.info().project.use.baseURL! }]);
    }
    // Polar's webhooks come to this server (signed with the secret it was given).
    expect(await polar('webhook', { url: `http://127.0.0.1:${serverPort}/webhooks/polar` })).toBe(204);

    // The billing page, from the navigation: the free plan, three plans, Business's per-minute price.
    await page.goto('/app');
    await waitHydrated(page);
    await page.getByTestId('nav-billing').click();
    await page.waitForURL('**/app/billing');
    await expect(page.getByTestId('billing-plan')).toHaveText(w.starter);
    await expect(page.getByTestId('billing-status')).toHaveCount(0);
    await expect(page.getByTestId('plan-card')).toHaveCount(3);
    const business = page.locator('[data-testid="plan-card"][data-plan="Business"]');
    await expect(business.getByTestId('plan-unit-price')).toHaveText(w.perMinute);
    await expect(page.locator('[data-testid="plan-card"][data-plan="Starter"]').getByTestId('plan-current')).toBeVisible();
    await expect(page.locator('[data-testid="plan-card"][data-plan="Starter"]').getByTestId('plan-choose')).toHaveCount(0);

    // Choose Business: Polar's checkout page names it; pay.
    await business.getByTestId('plan-choose').click();
    await page.waitForURL(`http://127.0.0.1:${mockPort}/polar/checkout/**`);
    await expect(page.getByTestId('polar-product')).toHaveText('Business');
    await page.getByTestId('polar-pay').click();

    // Back on the billing page: the plan is active once the webhook has landed.
    await page.waitForURL(/\/app\/billing\?checkout=/);
    await waitHydrated(page);
    await expect(page.getByTestId('billing-status')).toHaveAttribute('data-status', 'active', { timeout: 20_000 });
    await expect(page.getByTestId('billing-status')).toContainText(w.active);
    await expect(page.getByTestId('billing-plan')).toHaveText('Business');
    await expect(business.getByTestId('plan-current')).toBeVisible();
    await expect(page.getByTestId('billing-portal')).toBeVisible();
    await expect(page.getByTestId('billing-waiting')).toHaveCount(0);

    // A call: answered at once, hung up a few seconds later.
    await orgRequest(page, 'PUT', '/compliance', { window_start_minute: 0, window_end_minute: 1440, default_region: 'FR' });
    const agent = await orgRequest(page, 'POST', '/agents', { settings: voiceAgent });
    const trunk = await orgRequest(page, 'POST', '/telephony/trunks', { name: 'Main', address: '93.184.216.34', numbers: ['+33187654321'] });
    await orgRequest(page, 'PUT', '/telephony', { default_trunk_id: trunk.id });
    expect(await livekit('webhook', { url: `http://127.0.0.1:${serverPort}/webhooks/livekit`, lifecycle: true })).toBe(204);
    expect(await livekit('hold', { hold: false })).toBe(204);
    const call = await orgRequest(page, 'POST', '/calls', { to_number: '+33612345699', agent_id: agent.id });
    await expect.poll(async () => (await orgRequest(page, 'GET', `/calls/${call.id}`)).call.status, { timeout: 15_000 }).toBe('in_progress');
    // LiveKit's times are whole seconds: wait past two of them.
    await page.waitForTimeout(2_500);
    expect(await livekit('hangup', { room: `call-${call.id.replaceAll('-', '')}` })).toBe(204);
    await expect.poll(async () => (await orgRequest(page, 'GET', `/calls/${call.id}`)).call.status, { timeout: 15_000 }).toBe('completed');
    const { call: done } = await orgRequest(page, 'GET', `/calls/${call.id}`);
    const minutes = Math.ceil(Math.ceil(done.talk_ms / 1000) / 60);
    expect(minutes).toBe(1);

    // The billing page's meter and estimate count it.
    await page.reload();
    await waitHydrated(page);
    await expect(page.getByTestId('meter-call_minutes-text')).toHaveText(/^1 \/ 10[ ,\u202f\u00a0]?000$/);
    await expect(page.getByTestId('billing-estimate')).toHaveText(w.estimate);

    // The usage page: the call's day in the table, its agent, the estimate, the CSV.
    await page.getByTestId('billing-usage-link').click();
    await page.waitForURL('**/app/usage');
    const seconds = Math.ceil(done.talk_ms / 1000);
    const decimal = (seconds / 60).toFixed(1);
    const shown = lang === 'fr' ? decimal.replace('.', ',') : decimal;
    const day = page.getByTestId('usage-days').locator('tbody tr');
    await expect(day).toHaveCount(1);
    await expect(day.locator('td').nth(1)).toHaveText(shown);
    const agentRow = page.getByTestId('usage-agents').locator('tbody tr');
    await expect(agentRow).toHaveCount(1);
    await expect(agentRow.locator('td').nth(0)).toHaveText('Ava');
    await expect(agentRow.locator('td').nth(1)).toHaveText('1');
    await expect(page.getByTestId('meter-call_minutes-text')).toHaveText(/^1 \/ 10[ ,\u202f\u00a0]?000$/);
    await expect(page.getByTestId('usage-period').getByRole('progressbar').first()).toBeVisible();
    await expect(page.getByTestId('billing-estimate')).toHaveText(w.estimate);
    // The charts are drawn (leptos-chartistry's SVG).
    await expect(page.locator('svg').first()).toBeVisible();
    const csv = await page.evaluate(async (href) => (await fetch(href)).text(), await page.getByTestId('usage-csv').getAttribute('href'));
    expect(csv.split('\n')[0]).toBe('day,call_seconds,llm_input_tokens,llm_output_tokens,stt_seconds,tts_characters');
    expect(csv).toContain(`,${seconds},0,0,0,0`);
  });
}
