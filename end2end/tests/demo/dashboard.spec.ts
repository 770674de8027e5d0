// What a person sees on the dashboard: the server-rendered snapshot, live updates, orders and
// notifications across pages and users, and streams closing when they leave.
import { test, expect, openConnections, signIn, price, PRICE } from '../../support/fixtures';

test('without JavaScript the dashboard shows the snapshot and carries the stream URL and cursor', async ({
  browser,
  baseURL,
}) => {
  const context = await browser.newContext({ javaScriptEnabled: false, baseURL });
  const page = await context.newPage();
  await page.goto('/');
  await expect(page.getByTestId('price-tile')).toHaveCount(3);
  for (const symbol of ['ACME', 'GLOBEX', 'INITECH']) {
    await expect(price(page, symbol)).toHaveText(PRICE);
  }
  const dashboard = page.locator('.dashboard');
  await expect(dashboard).toHaveAttribute('data-stream', '/api/stream');
  await expect(dashboard).toHaveAttribute('data-cursor', /^[A-Za-z0-9_-]+:kpis=\d+,presence\/prices=\d+,prices=\d+$/);
  await expect(page.getByTestId('status')).toHaveText('connecting');
  await context.close();
});

test('after hydration prices change live and the badge reads live', async ({ page }) => {
  await page.goto('/');
  const acme = price(page);
  await expect(acme).toHaveText(PRICE);
  await expect(page.getByTestId('status')).toHaveText('live');
  // Each distinct value shown: the server's, then at least two live ones.
  const seen = [await acme.textContent()];
  await expect
    .poll(
      async () => {
        const now = await acme.textContent();
        if (now !== seen[seen.length - 1]) seen.push(now);
        return seen.length;
      },
      { timeout: 15_000, intervals: [100] },
    )
    .toBeGreaterThanOrEqual(3);
  await expect(page.getByTestId('chart').locator('path.line')).toHaveAttribute('d', /^M\d+\.\d,\d+\.\dL/);
});

test('an order placed in one page appears in another, and its update flashes there', async ({ page, browser, baseURL }) => {
  await signIn(page, 'alice');
  const other = await browser.newContext({ baseURL });
  const bobPage = await other.newPage();
  await signIn(bobPage, 'bob');

  const form = page.getByTestId('order-form');
  await form.getByLabel('Symbol').fill('GLOBEX');
  await form.getByLabel('Quantity').fill('77');
  await form.getByLabel('Price').fill('43.21');
  await form.getByRole('button', { name: 'Place order' }).click();

  const row = bobPage.getByTestId('order-row').filter({ hasText: '43.21' }).filter({ hasText: 'alice' });
  await expect(row).toHaveCount(1);
  await expect(row).toHaveAttribute('data-status', 'open');
  const id = await row.getAttribute('data-order');
  // Only the owner gets the buttons (the server refuses anyone else with 403 anyway).
  await expect(row.getByRole('button')).toHaveCount(0);
  await expect(
    page.locator(`[data-testid="order-row"][data-order="${id}"]`).getByRole('button', { name: 'Cancel' }),
  ).toBeVisible();

  // Alice fills it; bob's row turns filled (and plays its flash).
  await page.locator(`[data-testid="order-row"][data-order="${id}"]`).getByRole('button', { name: 'Fill' }).click();
  const updated = bobPage.locator(`[data-testid="order-row"][data-order="${id}"]`);
  await expect(updated).toHaveAttribute('data-status', 'filled');
  await expect(updated).toHaveClass(/row-updated/);
  await other.close();
});

test.describe('refusals', () => {
  // Chromium logs the 422 answer itself as a console error.
  test.use({ allowNetworkErrors: true });

  test('a refused order shows the server\'s reason', async ({ page }) => {
    await signIn(page, 'carol');
    const form = page.getByTestId('order-form');
    await form.getByLabel('Quantity').fill('0');
    const answer = page.waitForResponse((r) => r.url().includes('/api/place_order'));
    await form.getByRole('button', { name: 'Place order' }).click();
    expect((await answer).status()).toBe(422);
    await expect(form.getByRole('alert')).toContainText('quantity');
  });
});

test('bob never sees a notification meant for alice', async ({ page, browser, baseURL }) => {
  await signIn(page, 'alice');
  const other = await browser.newContext({ baseURL });
  const bobPage = await other.newPage();
  await signIn(bobPage, 'bob');

  const send = async (to: string, title: string) => {
    const form = page.getByTestId('notify-form');
    await form.getByLabel('To').selectOption(to);
    await form.getByLabel('Title').fill(title);
    await form.getByLabel('Message').fill(`hello ${to}`);
    await form.getByRole('button', { name: 'Send' }).click();
    await expect(form.getByText('Sent.')).toBeVisible();
  };
  await send('alice', 'only for alice');
  await expect(page.getByTestId('toast').filter({ hasText: 'only for alice' })).toBeVisible();
  await send('bob', 'only for bob');

  await expect(bobPage.getByTestId('toast').filter({ hasText: 'only for bob' })).toBeVisible();
  await expect(bobPage.getByTestId('unread')).toHaveText('1');
  await bobPage.getByTestId('bell').click();
  const list = bobPage.getByTestId('notification-list');
  await expect(list).toContainText('only for bob');
  await expect(list).not.toContainText('only for alice');
  await expect(bobPage.getByText('only for alice')).toHaveCount(0);
  await other.close();
});

test('an event published between render and subscribe shows exactly once', async ({ page }) => {
  await signIn(page, 'alice');
  // Hold the stream request until an order has been placed: it is not in the rendered
  // snapshot, so only the replay from the rendered cursor can bring it.
  let placed = 0;
  await page.route('**/api/stream?**', async (route) => {
    if (!placed) {
      const response = await page.request.post('/api/orders', {
        data: { symbol: 'INITECH', side: 'sell', quantity: 3, price: 250.5 },
      });
      expect(response.status()).toBe(201);
      placed = (await response.json()).id;
    }
    await route.continue();
  });
  await page.goto('/');
  await expect(page.getByTestId('status')).toHaveText('live');
  await expect(page.locator(`[data-testid="order-row"][data-order="${placed}"]`)).toHaveCount(1);
  await page.waitForTimeout(500);
  await expect(page.locator(`[data-testid="order-row"][data-order="${placed}"]`)).toHaveCount(1);
});

test('leaving the dashboard closes its stream; coming back opens one again', async ({ page, request }) => {
  await page.goto('/');
  await expect(page.getByTestId('status')).toHaveText('live');
  await expect.poll(() => openConnections(request)).toBe(1);

  // Pages are server-rendered and only their islands run in the browser: a link loads the
  // next page, and the one it leaves ends its stream.
  await page.getByRole('navigation').getByRole('link', { name: 'About' }).click();
  await expect(page.getByRole('heading', { name: 'About' })).toBeVisible();
  await expect.poll(() => openConnections(request), { timeout: 10_000 }).toBe(0);

  await page.getByRole('navigation').getByRole('link', { name: 'Dashboard' }).click();
  await expect(page.getByTestId('status')).toHaveText('live');
  await expect.poll(() => openConnections(request)).toBe(1);
});

test('a frame that fails to decode is skipped and the page carries on', async ({ page }) => {
  // Serve this page's stream ourselves: one malformed price, then a good one.
  await page.route('**/api/stream?**', (route) =>
    route.fulfill({
      status: 200,
      headers: { 'content-type': 'text/event-stream' },
      body: [
        'event: price\nid: x:prices=1\ndata: {"channel":"prices","data":{"symbol":"ACME","price":"not a number"}}\n\n',
        'event: price\nid: x:prices=2\ndata: not json at all\n\n',
        'event: price\nid: x:prices=3\ndata: {"channel":"prices","data":{"symbol":"ACME","price":123.45,"change":1.5,"at_ms":9999999999999}}\n\n',
      ].join(''),
    }),
  );
  await page.goto('/');
  await expect(price(page)).toHaveText('123.45');
});

test('a job streams its progress to completion', async ({ page }) => {
  await signIn(page, 'bob');
  await page.getByTestId('job').getByRole('button', { name: 'Start a job' }).click();
  await expect(page.getByTestId('progress-text')).toHaveText('complete', { timeout: 15_000 });
  await expect(page.getByTestId('progress')).toHaveAttribute('data-done', 'true');
});
