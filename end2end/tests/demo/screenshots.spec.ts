// Refreshes the README's screenshots (docs/*.png) from a real browser session:
//   UPDATE_SCREENSHOTS=1 ./x test
// Skipped otherwise, so ordinary runs never rewrite files in the repository.
import type { Page } from '@playwright/test';
import { test, expect, signIn } from '../../support/fixtures';
import * as path from 'node:path';

const DOCS = path.join(__dirname, '..', '..', '..', 'docs');

test.skip(!process.env.UPDATE_SCREENSHOTS, 'set UPDATE_SCREENSHOTS=1 to refresh docs/*.png');

// Screenshots are taken with `animations: 'disabled'`: a price that just changed direction is
// shown in its final colour, not halfway through the transition.
async function settle(page: Page) {
  await expect(page.getByTestId('status')).toHaveText('live');
  await page.waitForTimeout(1_500);
  await page.evaluate(() => window.scrollTo(0, 0));
}

test('README screenshots', async ({ page, browser, baseURL }) => {
  test.setTimeout(60_000);
  await page.setViewportSize({ width: 1360, height: 940 });
  await signIn(page, 'alice');

  const dark = await browser.newContext({ baseURL, colorScheme: 'dark', viewport: { width: 1360, height: 940 } });
  const bob = await dark.newPage();
  await signIn(bob, 'bob');
  const form = bob.getByTestId('notify-form');
  await form.getByLabel('To').selectOption('alice');
  await form.getByLabel('Title').fill('Desk moved');
  await form.getByLabel('Message').fill('Standup is in room 4 today.');
  await form.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByTestId('toast')).toBeVisible();

  // A few orders: bob's (no buttons for alice), alice's own open ones, one of them filled.
  const place = async (who: Page, symbol: string, quantity: string, price: string) => {
    const orderForm = who.getByTestId('order-form');
    await orderForm.getByLabel('Symbol').fill(symbol);
    await orderForm.getByLabel('Quantity').fill(quantity);
    await orderForm.getByLabel('Price').fill(price);
    await orderForm.getByRole('button', { name: 'Place order' }).click();
    await expect(page.getByTestId('order-row').filter({ hasText: price })).toHaveCount(1);
  };
  await place(bob, 'GLOBEX', '470', '43.12');
  await place(page, 'INITECH', '10', '252.54');
  await place(page, 'ACME', '370', '101.23');
  const first = page.getByTestId('order-row').filter({ hasText: '252.54' });
  await first.getByRole('button', { name: 'Fill' }).click();
  await expect(first).toHaveAttribute('data-status', 'filled');

  await page.getByTestId('job').getByRole('button', { name: 'Start a job' }).click();
  await settle(page);
  // A fresh server has a minute or two of prices: the 1 min window fills the chart.
  for (const p of [page, bob]) await p.getByRole('group', { name: 'Chart window' }).getByRole('button', { name: '1 min' }).click();
  // The crosshair on the chart, reading a price.
  const chart = (await page.getByTestId('chart').boundingBox())!;
  await page.mouse.move(chart.x + chart.width * 0.7, chart.y + chart.height / 2);
  await expect(page.getByTestId('chart-readout')).toHaveText(/^ACME \d+\.\d\d · /);
  await page.screenshot({ path: path.join(DOCS, 'dashboard.png'), animations: 'disabled' });
  await settle(bob);
  await bob.screenshot({ path: path.join(DOCS, 'dashboard-dark.png'), animations: 'disabled' });
  await dark.close();

  // A phone (390 px), signed in: the same page, laid out for it.
  const phone = await browser.newContext({ baseURL, viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
  const phonePage = await phone.newPage();
  await signIn(phonePage, 'bob');
  await settle(phonePage);
  await phonePage.screenshot({ path: path.join(DOCS, 'dashboard-phone.png'), animations: 'disabled' });
  await phone.close();

  await page.goto('/streams');
  await expect(page.getByTestId('server-time')).toHaveText(/\d\d:\d\d:\d\d/);
  await settle(page);
  await page.screenshot({ path: path.join(DOCS, 'streams.png'), animations: 'disabled' });
});
