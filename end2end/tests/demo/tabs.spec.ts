// One stream per browser: the tabs of one browser (one Playwright context) share the stream
// of the tab holding the Web Lock, relayed over a BroadcastChannel.
import { request as apiRequest, type APIRequestContext, type Page } from '@playwright/test';
import { test, expect, openConnections, signIn, price } from '../../support/fixtures';
import { sleep } from '../../support/server';

async function openTabs(first: Page, count: number, watch?: (tab: Page) => void): Promise<Page[]> {
  const tabs = [first];
  for (let i = 1; i < count; i++) {
    const tab = await first.context().newPage();
    watch?.(tab);
    tabs.push(tab);
  }
  for (const tab of tabs) {
    await tab.goto('/');
    await expect(tab.getByTestId('status')).toHaveText('live');
  }
  return tabs;
}

/** Counts, per tab, the streams it opened itself: only a leading (or lone) tab opens one. */
function streamOpeners(): { watch: (tab: Page) => void; opened: Map<Page, number> } {
  const opened = new Map<Page, number>();
  const watch = (tab: Page) =>
    tab.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/stream') opened.set(tab, (opened.get(tab) ?? 0) + 1);
    });
  return { watch, opened };
}

function orderRow(page: Page, id: number) {
  return page.locator(`[data-testid="order-row"][data-order="${id}"]`);
}

test('ten tabs stay live over HTTP/1.1 on one server-side stream', async ({ page, request }) => {
  test.setTimeout(90_000);
  const tabs = await openTabs(page, 10);
  await expect.poll(() => openConnections(request)).toBe(1);
  // Every tab keeps receiving: each shows a new ACME price.
  const before = await Promise.all(tabs.map((tab) => price(tab).textContent()));
  for (const [i, tab] of tabs.entries()) {
    await expect.poll(() => price(tab).textContent(), { timeout: 15_000 }).not.toBe(before[i]);
  }
  // And the site still answers: the six connections per origin are not all taken.
  const response = await tabs[9].request.get('/healthz');
  expect(response.ok()).toBeTruthy();
  await Promise.all(tabs.slice(1).map((tab) => tab.close()));
});

test('closing the leading tab hands the stream over with no event lost', async ({ page, baseURL, request }) => {
  test.setTimeout(60_000);
  const { watch, opened } = streamOpeners();
  watch(page);
  await signIn(page, 'alice'); // the first tab: it took the lock first and leads
  const tabs = await openTabs(page, 3, watch);
  await expect.poll(() => openConnections(request)).toBe(1);
  // The first tab reads the stream; the others only listen to it.
  expect(opened.get(tabs[0])).toBeGreaterThan(0);
  expect(tabs.slice(1).map((tab) => opened.get(tab) ?? 0)).toEqual([0, 0]);

  const api: APIRequestContext = await apiRequest.newContext({ baseURL });
  expect((await api.post('/api/session', { data: { user: 'carol' } })).ok()).toBeTruthy();
  const placed: number[] = [];
  const place = async () => {
    const response = await api.post('/api/orders', {
      data: { symbol: 'ACME', side: 'buy', quantity: placed.length + 1, price: 10 },
    });
    expect(response.status()).toBe(201);
    placed.push((await response.json()).id);
  };
  for (let i = 0; i < 3; i++) await place();
  // Close the leader while orders keep coming: some land while no tab reads the stream.
  const closing = tabs[0].close();
  for (let i = 0; i < 9; i++) {
    await place();
    await sleep(50);
  }
  await closing;
  for (const tab of tabs.slice(1)) {
    await expect(tab.getByTestId('status')).toHaveText('live');
    for (const id of placed) await expect(orderRow(tab, id)).toHaveCount(1);
  }
  await expect.poll(() => openConnections(request)).toBe(1);
  // Exactly one of the others took over: it opened the stream, the last one still did not.
  const takers = tabs.slice(1).filter((tab) => (opened.get(tab) ?? 0) > 0);
  expect(takers).toHaveLength(1);
  await api.dispose();
});

test('two users in two browsers never see each other\'s notifications', async ({ browser, baseURL }) => {
  test.setTimeout(60_000);
  const users = ['alice', 'bob'];
  const browsers = await Promise.all(users.map(() => browser.newContext({ baseURL })));
  const tabs: Page[][] = [];
  for (const [i, user] of users.entries()) {
    const first = await browsers[i].newPage();
    await signIn(first, user);
    tabs.push(await openTabs(first, 2));
  }
  const sender = await apiRequest.newContext({ baseURL });
  expect((await sender.post('/api/session', { data: { user: 'carol' } })).ok()).toBeTruthy();
  for (const to of users) {
    const response = await sender.post('/api/notifications', { data: { user: to, title: `for ${to} only`, body: '' } });
    expect(response.ok()).toBeTruthy();
  }
  for (const [i, user] of users.entries()) {
    for (const tab of tabs[i]) {
      await expect(tab.getByTestId('toast').filter({ hasText: `for ${user} only` })).toHaveCount(1);
      await expect(tab.getByText(`for ${users[1 - i]} only`)).toHaveCount(0);
    }
  }
  await sender.dispose();
  await Promise.all(browsers.map((b) => b.close()));
});

test('a sign-in as someone else in one tab moves every tab over, and nothing crosses', async ({ page, baseURL }) => {
  await signIn(page, 'alice');
  const [, other] = await openTabs(page, 2);
  await other.getByTestId('session').getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByTestId('sign-in-hint')).toBeVisible(); // the other tab followed
  await other.getByTestId('session').getByRole('button', { name: 'bob' }).click();
  for (const tab of [page, other]) {
    await expect(tab.getByTestId('user')).toHaveText('bob');
    await expect(tab.getByTestId('status')).toHaveText('live');
  }
  const sender = await apiRequest.newContext({ baseURL });
  expect((await sender.post('/api/session', { data: { user: 'carol' } })).ok()).toBeTruthy();
  for (const to of ['alice', 'bob']) {
    const response = await sender.post('/api/notifications', { data: { user: to, title: `after the switch, for ${to}`, body: '' } });
    expect(response.ok()).toBeTruthy();
  }
  for (const tab of [page, other]) {
    await expect(tab.getByTestId('toast').filter({ hasText: 'after the switch, for bob' })).toHaveCount(1);
    await expect(tab.getByText('after the switch, for alice')).toHaveCount(0);
  }
  await sender.dispose();
});
