// Starts the server binary on 127.0.0.1:0 for the whole run, waits until it answers, and
// publishes its URL as BASE_URL (workers inherit it). The returned function stops it with
// SIGINT, as cargo-leptos does, and fails the run if it does not exit promptly.
import { spawn } from 'node:child_process';
import * as readline from 'node:readline';

export default async function globalSetup(): Promise<() => Promise<void>> {
  const bin = process.env.SERVER_BIN;
  if (!bin) {
    throw new Error('SERVER_BIN is not set: run the browser tests through ./x test');
  }
  const server = spawn(bin, [], {
    env: { ...process.env, LEPTOS_SITE_ADDR: '127.0.0.1:0', LEPTOS_ENV: 'PROD', RUST_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));

  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not report its address in 30 s')), 30_000);
    server.on('error', reject);
    server.on('exit', (code) => reject(new Error(`server exited early with ${code}`)));
    readline.createInterface({ input: server.stdout! }).on('line', (line) => {
      const match = /^listening on (http:\/\/\S+)$/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });
  await waitUntilServing(baseUrl);
  process.env.BASE_URL = baseUrl;

  return async () => {
    const started = Date.now();
    server.kill('SIGINT');
    const code = await Promise.race([exited, sleep(10_000).then(() => 'timeout' as const)]);
    if (code === 'timeout') {
      server.kill('SIGKILL');
      throw new Error('server still running 10 s after SIGINT');
    }
    console.log(`server stopped by SIGINT in ${Date.now() - started} ms (exit code ${code})`);
  };
}

async function waitUntilServing(baseUrl: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const response = await fetch(`${baseUrl}/healthz`);
      if (response.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${baseUrl} did not answer /healthz in 30 s`);
    await sleep(100);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
