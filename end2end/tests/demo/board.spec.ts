// The dashboard's business view: the price chart (history, live moves, window, crosshair by
// pointer and keyboard), the KPIs moving with the order book, the activity feed, who is
// watching, and the phone layout.
import type { Page } from '@playwright/test';
import { test, expect, signIn, price, PRICE } from '../../support/fixtures';

const chart = (page: Page) => page.getByTestId('chart');
const line = (page: Page) => chart(page).locator('path.line');
const kpi = (page: Page, id: string) => page.locator(`[data-kpi="${id}"] [data-testid="kpi-value"]`);

/** The number of points on the chart's line. */
async function points(page: Page): Promise<number> {
  const d = (await line(page).getAttribute('d')) ?? '';
  return (d.match(/[ML]/g) ?? []).length;
}

test('the chart draws the history on load, with axes, and moves with new ticks', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('status')).toHaveText('live');
  // The server-rendered page already has the line: history, not only what arrived since.
  await expect.poll(() => points(page)).toBeGreaterThan(1);
  await expect(chart(page).locator('text.axis.time').first()).toHaveText('now');
  await expect(chart(page).locator('text.axis:not(.time)').first()).toHaveText(PRICE);
  await expect(chart(page).locator('circle.last')).toHaveCount(1);
  const before = await line(page).getAttribute('d');
  await expect.poll(() => line(page).getAttribute('d'), { timeout: 10_000 }).not.toBe(before);

  // The window: 1 min reads in seconds, 15 min in minutes.
  const tools = page.getByRole('group', { name: 'Chart window' });
  await tools.getByRole('button', { name: '1 min' }).click();
  await expect(tools.getByRole('button', { name: '1 min' })).toHaveAttribute('aria-pressed', 'true');
  await expect(chart(page).locator('text.axis.time')).toContainText(['now', '15 s ago']);
  await tools.getByRole('button', { name: '15 min' }).click();
  await expect(chart(page).locator('text.axis.time')).toContainText(['now', '5 min ago']);

  // A tile puts its symbol on the chart.
  await page.locator('[data-testid="price-tile"][data-symbol="GLOBEX"]').click();
  await expect(page.getByTestId('chart-card').getByRole('heading')).toHaveText('GLOBEX');
  await expect(chart(page)).toHaveAttribute('aria-label', /^GLOBEX price over the last 15 min/);
});

test('the crosshair reads the price under the pointer and under the arrow keys', async ({ page }) => {
  // This page's stream serves three known ACME ticks, newer than anything in the history.
  const at = 9_999_999_990_000;
  const tick = (n: number, p: number) =>
    `event: price\nid: x:prices=${n}\ndata: {"channel":"prices","data":{"symbol":"ACME","price":${p},"change":0,"at_ms":${at + n * 1000}}}\n\n`;
  await page.route('**/api/stream?**', (route) =>
    route.fulfill({
      status: 200,
      headers: { 'content-type': 'text/event-stream' },
      body: tick(0, 120) + tick(1, 121.5) + tick(2, 123.45),
    }),
  );
  await page.goto('/');
  await expect(price(page)).toHaveText('123.45');
  const readout = page.getByTestId('chart-readout');
  await expect(readout).toHaveText('');

  // By keyboard: End is the newest, each ArrowLeft one tick back; Escape lets go.
  await chart(page).focus();
  await page.keyboard.press('End');
  await expect(readout).toHaveText('ACME 123.45 · now');
  await expect(chart(page).locator('line.crosshair')).toHaveCount(1);
  await page.keyboard.press('ArrowLeft');
  await expect(readout).toHaveText('ACME 121.50 · 1 s ago');
  await page.keyboard.press('Home');
  await expect(readout).toHaveText('ACME 120.00 · 2 s ago');
  await page.keyboard.press('Escape');
  await expect(readout).toHaveText('');
  await expect(chart(page).locator('line.crosshair')).toHaveCount(0);

  // By pointer: the right edge of the plot is the newest tick.
  const box = (await chart(page).boundingBox())!;
  // (the plot ends 64 px before the chart's right edge, where the price labels are)
  await page.mouse.move(box.x + box.width - 60, box.y + box.height / 2);
  await expect(readout).toHaveText('ACME 123.45 · now');
  await page.mouse.move(box.x + box.width / 2, box.y + box.height + 200);
  await expect(readout).toHaveText('');
});

test('the KPIs and the activity feed follow an order placed and filled', async ({ page }) => {
  await signIn(page, 'alice');
  await expect(kpi(page, 'open')).toHaveText(/^\d+$/);
  const open = Number(await kpi(page, 'open').textContent());
  const volume = await kpi(page, 'volume').textContent();

  const form = page.getByTestId('order-form');
  await form.getByLabel('Symbol').fill('ACME');
  await form.getByLabel('Quantity').fill('40');
  await form.getByLabel('Price').fill('99.25');
  await form.getByRole('button', { name: 'Place order' }).click();
  const row = page.getByTestId('order-row').filter({ hasText: '99.25' }).first();
  const id = await row.getAttribute('data-order');
  const feed = page.getByTestId('activity-item');
  await expect(feed.first()).toContainText(`alice bought 40 ACME at 99.25 (order #${id})`);
  await expect(kpi(page, 'open')).toHaveText(String(open + 1), { timeout: 10_000 });

  await row.getByRole('button', { name: 'Fill' }).click();
  await expect(feed.first()).toContainText(`order #${id} filled`);
  await expect(kpi(page, 'open')).toHaveText(String(open), { timeout: 10_000 });
  await expect(kpi(page, 'volume')).not.toHaveText(volume ?? '', { timeout: 10_000 });
  await expect(kpi(page, 'fill-rate')).toHaveText(/^\d+ %$/);
  await expect(page.locator('[data-kpi="open"] .sparkline polyline')).toHaveAttribute('points', /\d+\.\d,\d+\.\d \d/);

  // The user's own job is in the feed too.
  await page.getByTestId('job').getByRole('button', { name: 'Start a job' }).click();
  await expect(feed.filter({ hasText: /you started job/ })).toHaveCount(1);
});

test('who is watching: a count for anyone, names for the signed in, one per browser', async ({ page, browser, baseURL }) => {
  await signIn(page, 'alice');
  const count = page.getByTestId('presence-count');
  await expect(count).toHaveText(/^\d+$/);
  // Streams of earlier tests' pages may still be closing: let the count settle.
  await page.waitForTimeout(2_500);
  const alone = Number(await count.textContent());
  await expect(page.getByTestId('presence-names')).toContainText('alice');

  // Another browser, signed out: one more watching; it sees the count, never a name.
  const guest = await browser.newContext({ baseURL });
  const guestPage = await guest.newPage();
  await guestPage.goto('/');
  await expect(count).toHaveText(String(alone + 1), { timeout: 10_000 });
  await expect(page.getByTestId('presence-names')).toContainText('1 guest');
  await expect(guestPage.getByTestId('presence-count')).toHaveText(String(alone + 1), { timeout: 10_000 });
  await expect(guestPage.getByTestId('presence-names')).toBeHidden();
  expect(await guestPage.getByTestId('presence').getAttribute('title')).not.toContain('alice');

  // A second tab of the same browser shares its stream: still one more.
  const tab = await guest.newPage();
  await tab.goto('/');
  await expect(tab.getByTestId('status')).toHaveText('live');
  await page.waitForTimeout(2_500);
  await expect(count).toHaveText(String(alone + 1));

  await guest.close();
  await expect(count).toHaveText(String(alone), { timeout: 10_000 });
});

for (const width of [360, 390, 430]) {
  test(`on a ${width} px phone nothing is cut off and targets are large enough`, async ({ page }) => {
    await page.setViewportSize({ width, height: 800 });
    await signIn(page, 'bob');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, 'the page scrolls sideways').toBeLessThanOrEqual(0);
    // The order table scrolls inside its card, never the page.
    const wrap = page.locator('.orders .table-wrap');
    expect(await wrap.evaluate((el) => getComputedStyle(el).overflowX)).toBe('auto');
    const small = await page.evaluate(() =>
      [...document.querySelectorAll('button, nav a')]
        .filter((el) => (el as HTMLElement).offsetParent !== null)
        .map((el) => ({ text: el.textContent?.trim(), height: el.getBoundingClientRect().height }))
        .filter((target) => target.height < 44),
    );
    expect(small).toEqual([]);
  });
}
