// The `test` every spec imports: Playwright's, with baseURL pointing at the server that
// global-setup started, and a helper for the server's stream stats.
import { test as base, expect, type APIRequestContext } from '@playwright/test';

export const test = base.extend({
  baseURL: async ({}, use) => {
    await use(process.env.BASE_URL);
  },
});

export { expect };

/** Open stream connections on the server right now. */
export async function openConnections(request: APIRequestContext): Promise<number> {
  const response = await request.get('/api/stats');
  expect(response.ok()).toBeTruthy();
  return (await response.json()).connections;
}
