// The example live collection (/tasks): what one user adds and finishes shows on another
// user's open page as it happens, rendered on the server first.
import AxeBuilder from '@axe-core/playwright';
import { test, expect, signIn } from '../support/fixtures';

test('a task added on one page appears live on another, and shows done when finished', async ({
  page,
  browser,
  baseURL,
}) => {
  await signIn(page, 'alice', '/tasks');
  await expect(page.getByTestId('status')).toHaveText('live');
  const other = await browser.newContext({ baseURL });
  const bobPage = await other.newPage();
  await signIn(bobPage, 'bob', '/tasks');
  await expect(bobPage.getByTestId('status')).toHaveText('live');

  const title = `review the figures ${Date.now()}`;
  await page.getByLabel('New task').fill(title);
  await page.getByRole('button', { name: 'Add' }).click();
  await expect(page.getByLabel('New task')).toHaveValue('');
  const mine = page.getByTestId('task').filter({ hasText: title });
  await expect(mine).toHaveCount(1);

  // Bob sees it without reloading, without a button: only its owner can finish it.
  const theirs = bobPage.getByTestId('task').filter({ hasText: title });
  await expect(theirs).toHaveAttribute('data-done', 'false');
  await expect(theirs.getByRole('button')).toHaveCount(0);

  await mine.getByRole('button', { name: 'Done' }).click();
  await expect(theirs).toHaveAttribute('data-done', 'true');
  await expect(mine.getByRole('button')).toHaveCount(0);

  // A fresh render lists it, done, from the server.
  await bobPage.reload();
  await expect(bobPage.getByTestId('task').filter({ hasText: title })).toHaveAttribute('data-done', 'true');
  await other.close();
});

test('signed out, the tasks page says to sign in', async ({ page }) => {
  await page.goto('/tasks');
  await expect(page.getByTestId('sign-in-hint')).toBeVisible();
  // Nothing on it is live, so no badge claims it is connecting.
  await expect(page.getByTestId('status')).toHaveCount(0);
  await expect(page.getByTestId('task')).toHaveCount(0);
});

for (const colorScheme of ['light', 'dark'] as const) {
  test(`the tasks page has no accessibility violations (${colorScheme})`, async ({ page }) => {
    await page.emulateMedia({ colorScheme });
    await signIn(page, 'carol', '/tasks');
    await expect(page.getByTestId('status')).toHaveText('live');
    await page.getByLabel('New task').fill(`checked by axe (${colorScheme})`);
    await page.getByRole('button', { name: 'Add' }).click();
    await expect(page.getByTestId('task').filter({ hasText: 'checked by axe' }).first()).toBeVisible();
    const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
    expect(results.violations.map((v) => `${v.id}: ${v.help}`)).toEqual([]);
  });
}
