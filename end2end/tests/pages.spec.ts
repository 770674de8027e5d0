// The starter's own pages without the demo: the streams page (the example `clock` stream and
// the server's figures), the about page, both checked by axe-core (WCAG 2.1 A and AA), and the
// wasm every page loads.
import AxeBuilder from '@axe-core/playwright';
import { test, expect } from '../support/fixtures';

test('the streams page has no accessibility violations', async ({ page }) => {
  await page.goto('/streams');
  await expect(page.getByTestId('status')).toHaveText('live');
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  expect(results.violations.map((v) => `${v.id}: ${v.help}`)).toEqual([]);
});

test('the about page has no accessibility violations', async ({ page }) => {
  await page.goto('/about');
  await expect(page.locator('h1')).toBeVisible();
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  expect(results.violations.map((v) => `${v.id}: ${v.help}`)).toEqual([]);
});

// A dashboard stays open all day: nothing on it may repaint forever while nothing changes.
test('the live dot pulses when the stream goes live, then stays still', async ({ page }) => {
  await page.goto('/streams');
  await expect(page.getByTestId('status')).toHaveAttribute('data-status', 'live');
  const pulses = await page
    .getByTestId('status')
    .locator('.status-dot')
    .evaluate((dot) => dot.getAnimations().map((a) => a.effect?.getComputedTiming().iterations));
  expect(pulses).toEqual([3]);
});

test('the streams page shows live stats from the same hooks', async ({ page }) => {
  await page.goto('/streams');
  await expect(page.getByTestId('status')).toHaveText('live');
  await expect(page.getByTestId('stat-connections')).toHaveText(/^[1-9]\d*$/);
  await expect(page.getByTestId('subscriber-row').filter({ hasText: 'stats' })).toHaveCount(1);
  await expect(page.getByTestId('stat-rate')).toHaveText(/^\d+\.\d$/, { timeout: 10_000 });
  // The README's "Add your own stream" example, on the same page.
  const clock = page.getByTestId('server-time');
  await expect(clock).toHaveText(/^\d\d:\d\d:\d\d$/);
  const first = await clock.textContent();
  await expect(clock).not.toHaveText(first!, { timeout: 5_000 });
});

// The page's Content-Security-Policy lets its own scripts run (the hydration script with the
// response's nonce, the module and wasm from this origin: the page goes live) and nothing
// injected: neither a <script> added to the document nor an inline handler runs, and each is
// reported. (Every other test fails on any violation: support/fixtures.ts.)
test.describe('the page policy', () => {
  test.use({ allowCspViolations: true });

  test('runs the page\'s own scripts and refuses injected ones', async ({ page }) => {
    const violations: string[] = [];
    page.on('console', (m) => {
      if (m.text().startsWith('CSP violation')) violations.push(m.text());
    });
    await page.goto('/streams');
    await expect(page.getByTestId('status')).toHaveText('live');
    const ran = await page.evaluate(async () => {
      const script = document.createElement('script');
      script.textContent = 'window.injected = true';
      document.body.append(script);
      const button = document.createElement('button');
      button.setAttribute('onclick', 'window.clicked = true');
      document.body.append(button);
      button.click();
      await new Promise((done) => setTimeout(done, 100));
      const w = window as unknown as { injected?: boolean; clicked?: boolean };
      return [w.injected === true, w.clicked === true];
    });
    expect(ran).toEqual([false, false]);
    await expect.poll(() => violations.length).toBeGreaterThanOrEqual(2);
    expect(violations.every((v) => v.includes('script-src'))).toBe(true);
  });
});

// The release build precompresses its assets (`--precompress`): the page's wasm arrives
// compressed, and as brotli within the budget the README states ("Keeping the wasm small").
test('the wasm arrives compressed, and is at most 200 KiB as brotli', async ({ page, request }) => {
  const wasm = page.waitForResponse((r) => new URL(r.url()).pathname.endsWith('.wasm'));
  await page.goto('/');
  const response = await wasm;
  // Browsers ask for brotli over HTTPS and on localhost; elsewhere they may get the gzip copy.
  expect(['br', 'gzip']).toContain(response.headers()['content-encoding']);
  const brotli = await request.get(new URL(response.url()).pathname, {
    headers: { 'Accept-Encoding': 'br' },
  });
  expect(brotli.headers()['content-encoding']).toBe('br');
  expect(brotli.headers()['vary']).toContain('accept-encoding');
  const size = Number(brotli.headers()['content-length']);
  expect(size).toBeGreaterThan(0);
  expect(size, `wasm is ${size} bytes as brotli`).toBeLessThanOrEqual(200 * 1024);
});

// A release build names the wasm, its JavaScript and the stylesheet by their content's hash
// (cargo-leptos `hash-files`) and serves them immutable for a year: a browser keeps them without
// asking again, and a new build, whose files hash differently, has pages naming new files, so
// no page ever pairs with another build's bundle. Pages themselves are never stored.
test('the bundle is content-hashed and served immutable; pages are not stored', async ({ page, request }) => {
  const bundle: { path: string; cacheControl: string; body: Buffer }[] = [];
  page.on('response', async (r) => {
    const path = new URL(r.url()).pathname;
    if (/^\/pkg\/.*\.(js|wasm|css)$/.test(path)) {
      bundle.push({ path, cacheControl: r.headers()['cache-control'], body: await r.body() });
    }
  });
  const html = await page.goto('/streams');
  expect(html!.headers()['cache-control']).toBe('private, no-store');
  await expect(page.getByTestId('status')).toHaveText('live');
  await expect.poll(() => bundle.map((b) => b.path.split('.').pop()).sort()).toEqual(['css', 'js', 'wasm']);
  const { createHash } = await import('node:crypto');
  for (const { path, cacheControl, body } of bundle) {
    const [, hash] = path.match(/^\/pkg\/leptos-live\.([A-Za-z0-9_-]{22})\.(js|wasm|css)$/) ?? [];
    expect(hash, `${path} is named by a hash`).toBeTruthy();
    expect(cacheControl, path).toBe('public, max-age=31536000, immutable');
    // The wasm and the stylesheet are named by the MD5 of exactly what is served (the JS is
    // hashed before cargo-leptos writes the wasm's hashed name into it).
    if (!path.endsWith('.js')) {
      expect(createHash('md5').update(body).digest('base64url'), path).toBe(hash);
    }
  }
  // The plain names of a build without hashing are not what this build serves.
  expect((await request.get('/pkg/leptos-live.wasm')).status()).toBe(404);
});
