// `./x bench dev-loop` (bench/dev-loop.spec.ts): the browser suite's Chromium settings, without
// its shared server (the benchmark runs its own watcher) and with room for a long run.
import { defineConfig } from '@playwright/test';
import suite from './playwright.config';

export default defineConfig({
  ...suite,
  testDir: './bench',
  globalSetup: undefined,
  timeout: 40 * 60_000,
});
