// What a stakeholder sees, checked by axe-core (WCAG 2.1 A and AA) in light and dark, and
// used by keyboard alone.
import AxeBuilder from '@axe-core/playwright';
import { test, expect, signIn } from '../../support/fixtures';

for (const colorScheme of ['light', 'dark'] as const) {
  test(`the dashboard has no accessibility violations (${colorScheme})`, async ({ page }) => {
    await page.emulateMedia({ colorScheme });
    await signIn(page, 'alice');
    // Live content too: an order row, a toast, a finished job.
    await page.getByTestId('job').getByRole('button', { name: 'Start a job' }).click();
    const form = page.getByTestId('notify-form');
    await form.getByLabel('To').selectOption('alice');
    await form.getByLabel('Title').fill('checked by axe');
    await form.getByRole('button', { name: 'Send' }).click();
    await expect(page.getByTestId('toast')).toHaveCount(1);
    await expect(page.getByTestId('progress-text')).toHaveText('complete', { timeout: 15_000 });
    const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
    const found = results.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
    expect(found).toEqual([]);
  });
}

test('prices and toasts are announced politely', async ({ page }) => {
  await signIn(page, 'bob');
  await expect(page.locator('[data-testid="price-tile"] [aria-live="polite"]').first()).toBeAttached();
  await expect(page.locator('.toasts[aria-live="polite"]')).toBeAttached();
});

test('a keyboard alone signs in, places an order and sees focus', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('status')).toHaveText('live');
  // Tab to the "alice" button; every stop on the way shows where focus is.
  for (let i = 0; i < 20; i++) {
    await page.keyboard.press('Tab');
    const focused = page.locator(':focus');
    const outline = await focused.evaluate((el) => getComputedStyle(el).outlineStyle);
    expect(outline, `focus ring on ${await focused.evaluate((el) => el.outerHTML.slice(0, 80))}`).not.toBe('none');
    if ((await focused.textContent()) === 'alice') break;
  }
  await expect(page.locator(':focus')).toHaveText('alice');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('user')).toHaveText('alice');
  // The order form by keyboard: focus the quantity, submit with Enter.
  const form = page.getByTestId('order-form');
  await form.getByLabel('Quantity').focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('order-row').first()).toContainText('alice');
});
