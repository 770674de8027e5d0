// The `test` every spec imports: Playwright's, with baseURL pointing at the shared server,
// failing on page errors and console errors, plus small helpers.
import {
  test as base,
  expect,
  type APIRequestContext,
  type Browser,
  type BrowserContext,
  type Page,
} from '@playwright/test';

// Every page reports each Content-Security-Policy violation as a console error (the browser's
// own message may not say which document it came from), so a policy that refuses something a
// page needs fails the test that saw it.
const reportViolations = () =>
  document.addEventListener('securitypolicyviolation', (e) =>
    console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`),
  );

export const test = base.extend<{
  problems: string[];
  allowNetworkErrors: boolean;
  allowCspViolations: boolean;
}>({
  baseURL: async ({}, use) => {
    await use(process.env.BASE_URL);
  },
  // Tests that take the server down expect the browser to log refused connections.
  allowNetworkErrors: [false, { option: true }],
  // Only the test that checks the policy refuses an injected script expects violations.
  allowCspViolations: [false, { option: true }],
  // Every page error or console error fails the test that caused it: on the fixture page, on
  // every other page of its context (more tabs), and on every page of any context or page the
  // test opens from the browser (another user).
  problems: [
    async ({ page, context, browser, allowNetworkErrors, allowCspViolations }, use) => {
      const problems: string[] = [];
      const watch = (watched: Page) => {
        const which = () => (watched === page ? '' : ` (${watched.url()})`);
        watched.on('pageerror', (err) => problems.push(`page error${which()}: ${err.message}`));
        watched.on('console', (msg) => {
          const network = /Failed to load resource|net::ERR_/.test(msg.text());
          const policy = /^CSP violation|Content Security Policy/.test(msg.text());
          if (msg.type() === 'error' && !(allowNetworkErrors && network) && !(allowCspViolations && policy)) {
            problems.push(`console error${which()}: ${msg.text()}`);
          }
        });
      };
      const watchAll = async (watchedContext: BrowserContext) => {
        await watchedContext.addInitScript(reportViolations);
        watchedContext.pages().forEach(watch);
        watchedContext.on('page', watch);
      };
      await context.addInitScript(reportViolations);
      watch(page);
      context.on('page', watch);
      const newContext = browser.newContext;
      browser.newContext = async (...args: Parameters<Browser['newContext']>) => {
        const created = await newContext.apply(browser, args);
        await watchAll(created);
        return created;
      };
      await use(problems);
      browser.newContext = newContext;
      expect(problems).toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };

export const PRICE = /^\d+\.\d{2}$/;

/** Open stream connections on the server right now. */
export async function openConnections(request: APIRequestContext): Promise<number> {
  const response = await request.get('/api/stats');
  expect(response.ok()).toBeTruthy();
  return (await response.json()).connections;
}

/**
 * Signs in through the page's own button and waits until the page shows it, live. A page that
 * shows a connection badge is hydrated once it reads live; one with nothing live while signed
 * out (the tasks page) has no badge, so the click is repeated until hydration has wired it.
 */
export async function signIn(page: Page, user: string, dashboard = '/'): Promise<void> {
  await page.goto(dashboard);
  const button = page.getByTestId('session').getByRole('button', { name: user });
  if ((await page.getByTestId('status').count()) > 0) {
    await expect(page.getByTestId('status')).toHaveText('live');
    await button.click();
  } else {
    await expect(async () => {
      if ((await page.getByTestId('user').count()) === 0) await button.click({ timeout: 1_000 });
      await expect(page.getByTestId('user')).toHaveText(user, { timeout: 2_000 });
    }).toPass({ timeout: 15_000 });
  }
  await expect(page.getByTestId('user')).toHaveText(user);
  await expect(page.getByTestId('status')).toHaveText('live');
}

/** The text shown in the price tile of `symbol`. */
export function price(page: Page, symbol = 'ACME') {
  return page.locator(`[data-testid="price-tile"][data-symbol="${symbol}"] [data-testid="price"]`);
}
