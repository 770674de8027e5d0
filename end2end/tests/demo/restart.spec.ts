// The page against a server that goes away: reconnecting, live again, nothing missed, manual
// reconnect, and reloading on a new deploy. Each test runs its own server so it can restart it.
import { test, expect, signIn, price, PRICE } from '../../support/fixtures';
import { startServer, type Server } from '../../support/server';
import { startRedis } from '../../support/cluster';

test.use({ allowNetworkErrors: true });

// Signed cookies must survive the restart, like a deployment with a configured key.
const SESSION_KEY = 'ab'.repeat(64);
let server: Server;

test.beforeEach(async () => {
  server = await startServer({ env: { SESSION_KEY, BUILD_ID: 'v1', ORDER_SIMULATOR_MS: '0' } });
  test.info().annotations.push({ type: 'server', description: server.url });
});

test.afterEach(async () => {
  await server.stop();
});

async function restart(env: Record<string, string> = {}) {
  const port = server.port;
  await server.stop();
  server = await startServer({ port, env: { SESSION_KEY, BUILD_ID: 'v1', ORDER_SIMULATOR_MS: '0', ...env } });
}

// A deployment whose state outlives its process (Redis: history, sessions, the order book):
// after a restart the page reconnects with its Last-Event-ID and resumes exactly there. The
// orders placed meanwhile arrive as events, with no resync and no snapshot fetched again.
test('after a server restart the page resumes where it was: no order missing, no resync', async ({ page }) => {
  const redis = await startRedis();
  const env = {
    SESSION_KEY,
    BUILD_ID: 'v1',
    ORDER_SIMULATOR_MS: '0',
    REDIS_URL: `redis://127.0.0.1:${redis.port}`,
  };
  const own = await startServer({ env });
  try {
    await signIn(page, 'alice', own.url);
    const refetched: string[] = [];
    const resumedFrom: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/api/live_snapshot')) refetched.push(r.url());
      if (r.url().includes('/api/stream?')) {
        resumedFrom.push(new URL(r.url()).searchParams.get('last_event_id') ?? '');
      }
    });
    await expect(price(page)).toHaveText(PRICE);
    await own.stop();
    await expect(page.getByTestId('status')).toContainText('reconnecting');
    // The page keeps the last data and says it is stale.
    await expect(page.getByTestId('stale')).toBeVisible();
    await expect(page.locator('.dashboard')).toHaveAttribute('data-stale', 'true');
    await expect(price(page)).toHaveText(PRICE);

    const again = await startServer({ port: own.port, env });
    try {
      // Published while the page is still waiting to reconnect.
      const ids: number[] = [];
      for (const price of [10.5, 11.5, 12.5]) {
        const response = await page.request.post(`${again.url}/api/orders`, {
          data: { symbol: 'ACME', side: 'buy', quantity: 1, price },
        });
        expect(response.status()).toBe(201);
        ids.push((await response.json()).id);
      }
      await expect(page.getByTestId('status')).toHaveText('live', { timeout: 20_000 });
      await expect(page.getByTestId('stale')).toBeHidden();
      for (const id of ids) {
        await expect(page.locator(`[data-testid="order-row"][data-order="${id}"]`)).toHaveCount(1);
      }
      expect(resumedFrom.length).toBeGreaterThan(0);
      expect(resumedFrom.every((cursor) => cursor.includes('orders='))).toBe(true);
      expect(refetched).toEqual([]);
    } finally {
      await again.stop();
    }
  } finally {
    await redis.stop();
  }
});

test('"Reconnect now" retries at once, and reconnects when the server is back', async ({ page }) => {
  await page.goto(server.url);
  await expect(page.getByTestId('status')).toHaveText('live');
  const port = server.port;
  await server.stop();
  // Let the backoff grow past a few attempts.
  await expect(page.getByTestId('status')).toHaveText(/reconnecting \(attempt ([5-9]|\d\d)\)/, {
    timeout: 30_000,
  });
  const reconnect = page.getByRole('button', { name: 'Reconnect now' });
  await reconnect.click();
  // A manual reconnect starts over: a fresh first attempt, not the next one in the backoff.
  await expect(page.getByTestId('status')).toHaveText(/reconnecting \(attempt [1-3]\)/);

  server = await startServer({ port, env: { SESSION_KEY, BUILD_ID: 'v1', ORDER_SIMULATOR_MS: '0' } });
  await reconnect.click();
  await expect(page.getByTestId('status')).toHaveText('live');
});

test('a redeploy with a new build shows a banner and reloads into the new version', async ({ page }) => {
  await page.goto(server.url);
  await expect(page.getByTestId('status')).toHaveText('live');
  await expect(page.locator('.dashboard')).toHaveAttribute('data-build', 'v1');
  await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
  await restart({ BUILD_ID: 'v2' });
  await expect(page.getByTestId('new-version')).toContainText('v2', { timeout: 20_000 });
  // Each tab reloads after its own random wait, 1.5 to 10 s.
  await expect(page.getByTestId('new-version')).toHaveCount(0, { timeout: 20_000 });
  await expect(page.locator('.dashboard')).toHaveAttribute('data-build', 'v2');
  expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBeUndefined();
});

// A rolling deploy behind a balancer: the tab meets an instance of the build before its own.
// It stays where it is (reloading for any difference sent tabs back and forth).
test('an instance of an older build makes no page reload', async ({ page }) => {
  await restart({ BUILD_ID: 'v2' });
  await page.goto(server.url);
  await expect(page.locator('.dashboard')).toHaveAttribute('data-build', 'v2');
  await expect(page.getByTestId('status')).toHaveText('live');
  await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
  await restart({ BUILD_ID: 'v1' });
  await expect(page.getByTestId('status')).toHaveText('live', { timeout: 20_000 });
  // A tick after the reconnect: the new stream's `hello` (its first frame) was read.
  const acme = page.locator('[data-testid="price-tile"][data-symbol="ACME"] [data-testid="price"]');
  const before = await acme.textContent();
  await expect(acme).not.toHaveText(before!, { timeout: 10_000 });
  await expect(page.getByTestId('new-version')).toHaveCount(0);
  await page.waitForTimeout(2_000); // the shortest wait before a reload
  expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
});
