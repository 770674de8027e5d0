// Browser tests in the system's Chromium (never `playwright install`: it downloads browsers).
// `./x test` builds the release server and sets SERVER_BIN, LEPTOS_SITE_ROOT and CHROMIUM_PATH;
// support/global-setup.ts starts that server on a free port.
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: './tests',
  globalSetup: './support/global-setup.ts',
  // One worker: several tests read the server-wide connection count in /api/stats.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 30_000,
  reporter: 'list',
  use: {
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      // No sandbox as root in CI; the rest keeps Chromium from calling home on a closed network.
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
  },
});
