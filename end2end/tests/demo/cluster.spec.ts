// Two instances sharing one Redis, with nginx in front (deploy/nginx.conf): a dashboard on
// each instance sees the other's orders, and pages open through nginx ride out a rolling
// restart of both instances without missing an order.
import { test, expect, signIn } from '../../support/fixtures';
import { sleep, startServer, type Server } from '../../support/server';
import { startNginx, startRedis, type Process } from '../../support/cluster';
import type { APIRequestContext, Page } from '@playwright/test';

test.use({ allowNetworkErrors: true });

const SESSION_KEY = 'cd'.repeat(64);
let redis: Process;
let nginx: Process;
let instances: Server[];

function startInstance(port = 0): Promise<Server> {
  return startServer({
    port,
    env: {
      REDIS_URL: `redis://127.0.0.1:${redis.port}`,
      SESSION_KEY,
      TRUSTED_PROXIES: '127.0.0.1',
      ORDER_SIMULATOR_MS: '0',
      SHUTDOWN_GRACE_MS: '300',
    },
  });
}

test.beforeEach(async () => {
  redis = await startRedis();
  instances = [await startInstance(), await startInstance()];
  nginx = await startNginx(instances.map((i) => i.port));
});

test.afterEach(async () => {
  await nginx.stop();
  for (const instance of instances) await instance.stop().catch(() => {});
  await redis.stop();
});

async function placeOrder(request: APIRequestContext, base: string, price: number): Promise<number> {
  const response = await request.post(`${base}/api/orders`, {
    data: { symbol: 'ACME', side: 'buy', quantity: 1, price },
  });
  expect(response.status()).toBe(201);
  return (await response.json()).id;
}

function row(page: Page, id: number) {
  return page.locator(`[data-testid="order-row"][data-order="${id}"]`);
}

test('a dashboard on each instance sees the orders placed through the other', async ({ page, browser }) => {
  const [a, b] = instances;
  await signIn(page, 'alice', a.url);
  const other = await browser.newPage();
  await signIn(other, 'bob', b.url);

  const fromA = await placeOrder(page.request, a.url, 10.5);
  const fromB = await placeOrder(other.request, b.url, 11.5);
  expect(fromB, 'one id sequence for both instances').toBe(fromA + 1);
  const orders: [number, string][] = [
    [fromA, '10.50'],
    [fromB, '11.50'],
  ];
  for (const [id, price] of orders) {
    await expect(row(page, id)).toContainText(price);
    await expect(row(other, id)).toContainText(price);
  }
  // A page rendered by B afterwards has both in its snapshot.
  await other.reload();
  for (const [id, price] of orders) await expect(row(other, id)).toContainText(price);
  await other.close();
});

test('through nginx, a rolling restart of both instances misses no order', async ({ page }) => {
  const front = `http://127.0.0.1:${nginx.port}`;
  await signIn(page, 'alice', front);
  // A second tab of the same browser: the same session.
  const second = await page.context().newPage();
  await second.goto(front);
  await expect(second.getByTestId('user')).toHaveText('alice');
  await expect(second.getByTestId('status')).toHaveText('live');

  const placed: number[] = [];
  for (const index of [0, 1]) {
    const port = instances[index].port;
    await instances[index].stop();
    // Placed while one instance is down: nginx sends them to the other.
    for (const price of [20.5, 21.5, 22.5]) placed.push(await placeOrder(page.request, front, price + index));
    for (const p of [page, second]) {
      await expect(p.getByTestId('status')).toHaveText('live', { timeout: 20_000 });
      for (const id of placed) await expect(row(p, id)).toHaveCount(1);
    }
    instances[index] = await startInstance(port);
    // As an operator would: the next instance goes only once nginx may use this one again
    // (it marked it failed for fail_timeout, 2 s, when it went away).
    await sleep(2_500);
  }
  // Both instances back: one more, seen by both pages.
  placed.push(await placeOrder(page.request, front, 30.5));
  for (const p of [page, second]) await expect(row(p, placed[placed.length - 1])).toHaveCount(1);
  await second.close();
});

test('who is watching is counted over both instances, names only for the signed in', async ({ page, browser }) => {
  const [a, b] = instances;
  const front = `http://127.0.0.1:${nginx.port}`;
  await signIn(page, 'alice', a.url);
  const bob = await browser.newPage();
  await signIn(bob, 'bob', b.url);
  const guest = await browser.newPage();
  await guest.goto(front);
  await expect(guest.getByTestId('status')).toHaveText('live');

  for (const p of [page, bob, guest]) {
    await expect(p.getByTestId('presence-count')).toHaveText('3', { timeout: 15_000 });
  }
  for (const p of [page, bob]) {
    await expect(p.getByTestId('presence-names')).toHaveText(': alice, bob and 1 guest', { timeout: 15_000 });
  }
  await expect(guest.getByTestId('presence-names')).toBeHidden();

  await bob.close();
  await expect(page.getByTestId('presence-count')).toHaveText('2', { timeout: 15_000 });
  await expect(guest.getByTestId('presence-count')).toHaveText('2', { timeout: 15_000 });
  await expect(page.getByTestId('presence-names')).toHaveText(': alice and 1 guest');
  await guest.close();
});
