// What a person sees on the dashboard: the server-rendered price, live updates after hydration,
// and the stream closing when they leave the page.
import { test, expect, openConnections } from '../support/fixtures';

const PRICE = /^\d+\.\d{2}$/;

test('the server-rendered page shows the price and carries the stream URL before any script runs', async ({
  browser,
  baseURL,
}) => {
  const context = await browser.newContext({ javaScriptEnabled: false, baseURL });
  const page = await context.newPage();
  await page.goto('/');

  await expect(page.getByTestId('price')).toHaveText(PRICE);
  await expect(page.locator('[data-stream="/api/prices/stream"]')).toHaveCount(1);
  await expect(page.getByTestId('status')).toHaveText('connecting');
  await context.close();
});

test('after hydration the price changes at least twice and the status reads live', async ({ page }) => {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });

  await page.goto('/');
  const price = page.getByTestId('price');
  await expect(price).toHaveText(PRICE);
  await expect(page.getByTestId('status')).toHaveText('live');

  // Record each distinct value shown: the server's, then at least two live ones.
  const seen = [await price.textContent()];
  await expect
    .poll(
      async () => {
        const now = await price.textContent();
        if (now !== seen[seen.length - 1]) seen.push(now);
        return seen.length;
      },
      { timeout: 15_000, intervals: [100] },
    )
    .toBeGreaterThanOrEqual(3);
  for (const value of seen) expect(value).toMatch(PRICE);
  expect(problems).toEqual([]);
});

test('navigating to another page closes the stream', async ({ page, request }) => {
  await page.goto('/');
  await expect(page.getByTestId('status')).toHaveText('live');
  await expect.poll(() => openConnections(request)).toBe(1);

  // Mark the document: if the link reloaded the page instead of routing, the mark would go.
  await page.evaluate(() => ((window as any).__sameDocument = true));
  await page.getByRole('navigation').getByRole('link', { name: 'About' }).click();
  await expect(page).toHaveURL(/\/about$/);
  await expect(page.getByRole('heading', { name: 'About' })).toBeVisible();
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);

  await expect.poll(() => openConnections(request), { timeout: 10_000 }).toBe(0);

  // And coming back opens it again.
  await page.getByRole('navigation').getByRole('link', { name: 'Dashboard' }).click();
  await expect(page.getByTestId('status')).toHaveText('live');
  await expect.poll(() => openConnections(request)).toBe(1);
});
