import { test, expect } from '@playwright/test';
import { loginDemoAdmin, newOwner, waitHydrated } from './support';
import { orgRequest, voiceAgent } from './calls-support';

test('create a folder and an agent with a schema, then chat with it in the playground', async ({ page }) => {
  await newOwner(page, 'Motors');
  await page.getByTestId('nav-agents').click();
  await page.waitForURL('**/app/agents');
  await waitHydrated(page);

  // A folder, selected once created.
  await page.getByTestId('new-folder-name').fill('Outbound');
  await page.getByTestId('new-folder-name').press('Enter');
  await expect(page.getByTestId('folder-Outbound')).toHaveAttribute('aria-pressed', 'true');

  await page.getByTestId('new-agent').click();
  await page.waitForURL(/\/app\/agents\/new\?folder=/);
  await waitHydrated(page);
  await page.fill('#agent-name', 'Max');
  await page.fill('#system-prompt', 'You call {{prospect.first_name}} about a test drive.');

  // An unknown variable is highlighted, previewed as an error, and refused on save.
  await page.fill('#first-message', 'Hello {{prospect.nickname}}!');
  await expect(page.getByTestId('preview-first-message')).toContainText('{{prospect.nickname}}');
  await page.getByTestId('save-agent').click();
  await expect(page.locator('#first-message-error')).toContainText('Unknown variable {{prospect.nickname}}');
  await page.fill('#first-message', 'Hello {{prospect.first_name}}, this is {{agent.name}}.');
  await expect(page.getByTestId('preview-first-message')).toContainText('Hello Alex, this is Max.');

  // Data schema: a required number and a choice.
  await page.getByTestId('schema-add').click();
  await page.getByTestId('schema-name-0').fill('budget');
  await page.getByTestId('schema-type-0').selectOption('number');
  await page.getByTestId('schema-required-0').check();
  await page.getByTestId('schema-description-0').fill('Monthly budget in euros');
  await page.getByTestId('schema-add').click();
  await page.getByTestId('schema-name-1').fill('model');
  await page.getByTestId('schema-type-1').selectOption('enum');
  await page.getByTestId('schema-options-1').fill('Clio, Megane');

  await page.getByTestId('save-agent').click();
  await page.waitForURL(/\/app\/agents\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId('agent-title')).toHaveText('Max');

  // Listed in its folder.
  await page.goto('/app/agents');
  await waitHydrated(page);
  await page.getByTestId('folder-Outbound').click();
  await expect(page.getByTestId('agent-list')).toContainText('Max');
  await page.getByTestId('agent-search').fill('nobody');
  await expect(page.getByTestId('agent-list')).toHaveCount(0);
  await page.getByTestId('agent-search').fill('ma');
  await page.getByTestId('playground-Max').click();

  // The playground: streamed reply, then a tool call filling the data panel.
  await page.waitForURL(/\/playground$/);
  await waitHydrated(page);
  await page.getByTestId('new-conversation').click();
  await page.waitForURL(/\/playground\?c=/);
  await expect(page.getByTestId('turn-assistant').first()).toHaveText('Hello Alex, this is Max.');
  await page.getByTestId('playground-input').fill('Hello, who is this?');
  await page.getByTestId('playground-send').click();
  await expect(page.getByTestId('turn-assistant').last()).toHaveText('You said: Hello, who is this?');

  await page.getByTestId('playground-input').fill('My budget is 450');
  await page.getByTestId('playground-send').click();
  await expect(page.getByTestId('turn-tool-call')).toContainText('updateData');
  await expect(page.getByTestId('turn-tool-ok')).toBeVisible();
  await expect(page.getByTestId('data-value-budget')).toHaveText('450');
  await expect(page.getByTestId('turn-assistant').last()).toHaveText('Got it.');

  // Saved: reloading shows the same conversation and data.
  await page.reload();
  await waitHydrated(page);
  await expect(page.getByTestId('data-value-budget')).toHaveText('450');
  await expect(page.getByTestId('conversation-history')).toContainText('turns');

  // Goodbye ends it: the input is disabled.
  await page.getByTestId('playground-input').fill('bye');
  await page.getByTestId('playground-send').click();
  await expect(page.getByTestId('conversation-ended')).toContainText('prospect said goodbye');
  await expect(page.getByTestId('playground-input')).toBeDisabled();
});

test("a voice agent's fallback voices: added on another vendor, a repeat refused, saved in order, removed", async ({ page }) => {
  await loginDemoAdmin(page);
  await waitHydrated(page);
  const agent = await orgRequest(page, 'POST', '/agents', { settings: { ...voiceAgent, name: `Fallback ${Date.now()}` } });
  await page.goto(`/app/agents/${agent.id}`);
  await waitHydrated(page);
  await expect(page.locator('#tts-provider')).toHaveValue('cartesia');

  // A new fallback starts on another vendor, with its first model and voice.
  await page.getByTestId('fallback-voice-add').click();
  await expect(page.locator('#fallback-voice-0-provider')).not.toHaveValue('cartesia');
  await page.locator('#fallback-voice-0-provider').selectOption('openai');
  await expect(page.locator('#fallback-voice-0-model')).toHaveValue('gpt-4o-mini-tts');
  await expect(page.locator('#fallback-voice-0-voice')).toHaveValue('alloy');
  await page.locator('#fallback-voice-0-voice').selectOption('nova');

  // The same voice twice would fail the same way twice: refused on that row.
  await page.getByTestId('fallback-voice-add').click();
  await expect(page.locator('#fallback-voice-1-provider')).toHaveValue('elevenlabs');
  await page.locator('#fallback-voice-1-provider').selectOption('openai');
  await page.locator('#fallback-voice-1-voice').selectOption('nova');
  // Two is the limit: no third.
  await expect(page.getByTestId('fallback-voice-add')).toHaveCount(0);
  await page.getByTestId('save-agent').click();
  await expect(page.locator('#fallback-voice-1-voice-error')).toContainText('already used above');

  // Removed, saved, and there after a reload.
  await page.getByTestId('fallback-voice-1-remove').click();
  await expect(page.getByTestId('fallback-voice-1')).toHaveCount(0);
  await page.getByTestId('save-agent').click();
  await expect(page.getByTestId('toast').first()).toBeVisible();
  await page.reload();
  await waitHydrated(page);
  await expect(page.locator('#fallback-voice-0-provider')).toHaveValue('openai');
  await expect(page.locator('#fallback-voice-0-voice')).toHaveValue('nova');
  await expect(page.getByTestId('fallback-voice-1')).toHaveCount(0);
  const saved = await orgRequest(page, 'GET', `/agents/${agent.id}`);
  expect(saved.settings.fallback_voices).toEqual([{ provider: 'openai', model: 'gpt-4o-mini-tts', voice: 'nova' }]);

  // Removing the last one leaves the agent with its own voice only.
  await page.getByTestId('fallback-voice-0-remove').click();
  await page.getByTestId('save-agent').click();
  await expect.poll(async () => (await orgRequest(page, 'GET', `/agents/${agent.id}`)).settings.fallback_voices).toEqual([]);
});
