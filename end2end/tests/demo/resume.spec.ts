// Resume in every path: each test here failed against the client before it adopted snapshot
// positions on sign-in, subscribed jobs from their cursor, stopped reopening per listener
// and turned refusals into states.
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { request as apiRequest, type Page, type Request } from '@playwright/test';
import { test, expect, signIn } from '../../support/fixtures';
import { startServer, sleep, type Server } from '../../support/server';

const STREAM = '**/api/stream?**';

function streamRequests(page: Page): Request[] {
  const seen: Request[] = [];
  page.on('request', (r) => {
    if (r.url().includes('/api/stream?')) seen.push(r);
  });
  return seen;
}

function channelsOf(url: string): string {
  return new URL(url).searchParams.get('channels') ?? '';
}

test('after a sign-in, an order placed before the stream reopens is shown', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('status')).toHaveText('live');
  // The signed-in snapshot is fetched, then the stream reopens with orders: place an order
  // in between. Only the snapshot's orders position can bring it.
  let placed = 0;
  await page.route(STREAM, async (route) => {
    if (!placed && channelsOf(route.request().url()).includes('orders')) {
      const response = await page.request.post('/api/orders', {
        data: { symbol: 'GLOBEX', side: 'buy', quantity: 2, price: 99.5 },
      });
      expect(response.status()).toBe(201);
      placed = (await response.json()).id;
    }
    await route.continue();
  });
  await page.getByTestId('session').getByRole('button', { name: 'alice' }).click();
  await expect(page.getByTestId('user')).toHaveText('alice');
  await expect(page.getByTestId('status')).toHaveText('live');
  expect(placed).toBeGreaterThan(0);
  await expect(page.locator(`[data-testid="order-row"][data-order="${placed}"]`)).toHaveCount(1);
});

test('a job whose stream opens late still shows its progress and completion', async ({ page }) => {
  await signIn(page, 'bob');
  // Hold the stream that adds the job's channel until the job (about 3 s) has finished.
  await page.route(STREAM, async (route) => {
    if (channelsOf(route.request().url()).includes('/jobs/')) await sleep(5_000);
    await route.continue();
  });
  await page.getByTestId('job').getByRole('button', { name: 'Start a job' }).click();
  await expect(page.getByTestId('progress-text')).toHaveText('complete', { timeout: 15_000 });
});

test('mounting the job view opens the stream once, not once per event name', async ({ page }) => {
  // Count every stream the page starts, even one closed in the same tick (which never
  // reaches the network): EventSource constructions and fetches of the stream URL.
  await page.addInitScript(() => {
    const opens: string[] = ((window as any).__streamOpens = []);
    const NativeEventSource = window.EventSource;
    (window as any).EventSource = function (url: string, init?: EventSourceInit) {
      opens.push(String(url));
      return new NativeEventSource(url, init);
    };
    const nativeFetch = window.fetch.bind(window);
    window.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
      const url = String(input instanceof Request ? input.url : input);
      if (url.includes('/api/stream?')) opens.push(url);
      return nativeFetch(input, init);
    };
  });
  await signIn(page, 'carol');
  const before = await page.evaluate(() => (window as any).__streamOpens.length);
  await page.getByTestId('job').getByRole('button', { name: 'Start a job' }).click();
  await expect(page.getByTestId('progress-text')).toHaveText('complete', { timeout: 15_000 });
  const opens: string[] = await page.evaluate(() => (window as any).__streamOpens);
  expect(opens.slice(before).map((url) => channelsOf(new URL(url, page.url()).href))).toEqual([
    expect.stringMatching(
      /^kpis,orders,presence\/prices,presence\/prices\/people,prices,users\/carol\/jobs\/[^,]+,users\/carol\/notifications$/,
    ),
  ]);
});

test.describe('refusals', () => {
  // The refused requests show up as failed loads in the console.
  test.use({ allowNetworkErrors: true });

  test.describe('on a server of its own', () => {
    let server: Server;
    test.afterEach(async () => server?.stop());

    test('a stream refused for want of a session says so, waits, and recovers on sign-in', async ({ browser }) => {
      // SESSION_KEY is random per start: after a restart, the page's cookie is worthless.
      server = await startServer({ env: { ORDER_SIMULATOR_MS: '0' } });
      const context = await browser.newContext({ baseURL: server.url });
      const page = await context.newPage();
      await signIn(page, 'alice');
      const opened = streamRequests(page);
      const port = server.port;
      await server.stop();
      server = await startServer({ port, env: { ORDER_SIMULATOR_MS: '0' } });
      const status = page.getByTestId('status');
      await expect(status).toHaveAttribute('data-status', 'signed-out', { timeout: 15_000 });
      await expect(status).toContainText('signed out: ');
      const tries = opened.length;
      await sleep(3_000);
      expect(opened).toHaveLength(tries); // no retries that cannot help
      await page.getByTestId('session').getByRole('button', { name: 'Sign out' }).click();
      await expect(status).toHaveText('live');
      await page.getByTestId('session').getByRole('button', { name: 'bob' }).click();
      await expect(page.getByTestId('user')).toHaveText('bob');
      await expect(status).toHaveText('live');
      await context.close();
    });

    test("a stream with another user's channel is refused as forbidden", async ({ browser }) => {
      // Sessions kept across the restart (SESSIONS_FILE, as ./x dev keeps them).
      const sessions = path.join(os.tmpdir(), `leptos-live-sessions-${process.pid}-${Date.now()}`);
      const env = { ORDER_SIMULATOR_MS: '0', SESSION_KEY: 'ab'.repeat(64), SESSIONS_FILE: sessions };
      server = await startServer({ env });
      const context = await browser.newContext({ baseURL: server.url });
      const page = await context.newPage();
      await signIn(page, 'alice');
      // The browser's cookie becomes bob's behind this page's back, then the stream drops.
      const bob = await apiRequest.newContext({ baseURL: server.url });
      expect((await bob.post('/api/session', { data: { user: 'bob' } })).ok()).toBeTruthy();
      await context.addCookies((await bob.storageState()).cookies);
      await bob.dispose();
      const opened = streamRequests(page);
      const port = server.port;
      await server.stop();
      server = await startServer({ port, env });
      const status = page.getByTestId('status');
      await expect(status).toHaveAttribute('data-status', 'forbidden', { timeout: 15_000 });
      await expect(status).toContainText('not allowed: ');
      const tries = opened.length;
      await sleep(3_000);
      expect(opened).toHaveLength(tries);
      await context.close();
      fs.rmSync(sessions, { force: true });
    });
  });

  test.describe('on a server with tight limits', () => {
    let server: Server;
    test.afterEach(async () => server?.stop());

    test('too many streams: says why, retries slowly, and goes live when a slot frees', async ({ browser }) => {
      server = await startServer({ env: { MAX_STREAMS_PER_ADDRESS: '1', ORDER_SIMULATOR_MS: '0' } });
      const first = await browser.newContext({ baseURL: server.url });
      const holder = await first.newPage();
      await holder.goto('/');
      await expect(holder.getByTestId('status')).toHaveText('live');

      const second = await browser.newContext({ baseURL: server.url });
      const page = await second.newPage();
      const opened = streamRequests(page);
      await page.goto('/');
      const status = page.getByTestId('status');
      await expect(status).toHaveAttribute('data-status', 'too-many');
      await expect(status).toContainText('too many streams: ');
      await sleep(3_000);
      expect(opened.length).toBeLessThanOrEqual(2); // Retry-After is 5 s
      await first.close();
      await expect(status).toHaveText('live', { timeout: 15_000 });
      await second.close();
    });

    test('a page needing more channels than allowed says so instead of retrying', async ({ browser }) => {
      server = await startServer({ env: { MAX_CHANNELS_PER_STREAM: '3', ORDER_SIMULATOR_MS: '0' } });
      const context = await browser.newContext({ baseURL: server.url });
      const page = await context.newPage();
      await page.goto('/');
      const status = page.getByTestId('status');
      await expect(status).toHaveText('live');
      const opened = streamRequests(page);
      await page.getByTestId('session').getByRole('button', { name: 'alice' }).click();
      await expect(status).toHaveAttribute('data-status', 'rejected');
      await expect(status).toContainText('channels');
      await sleep(3_000);
      expect(opened).toHaveLength(1);
      await page.getByTestId('session').getByRole('button', { name: 'Sign out' }).click();
      await expect(status).toHaveText('live');
      await context.close();
    });
  });
});

// A refetched snapshot replaces the state that events were folded into while it was on its
// way: an event newer than the snapshot's own read must still show. (Failed before
// `Want::rebase`: the tab kept its newer position, so the order was never replayed.)
test('an order that arrives while the dashboard refetches its snapshot stays shown', async ({ page }) => {
  await signIn(page, 'alice');
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let fetched!: () => void;
  const read = new Promise<void>((resolve) => (fetched = resolve));
  await page.route('**/api/live_snapshot*', async (route) => {
    // The server reads the snapshot now; the page gets it only once the order is shown.
    const response = await route.fetch();
    fetched();
    await held;
    await route.fulfill({ response });
  });
  // What another tab's sign-in tells this one (`Note::Session`): refetch the snapshot.
  await page.evaluate(() => new BroadcastChannel('leptos-live').postMessage('"session"'));
  await read;
  const response = await page.request.post('/api/orders', {
    data: { symbol: 'INITECH', side: 'sell', quantity: 3, price: 12.34 },
  });
  expect(response.status()).toBe(201);
  const id = (await response.json()).id;
  const row = page.locator(`[data-testid="order-row"][data-order="${id}"]`);
  await expect(row, 'the old state shows it').toHaveCount(1);
  // The fresh state (read before the order) replaces the old; the order must come back. It
  // is applied as soon as its answer is read: a second is plenty to see it gone for good.
  const answered = page.waitForResponse('**/api/live_snapshot*');
  release();
  await answered;
  await page.waitForTimeout(1_000);
  await expect(row).toHaveCount(1);
});
