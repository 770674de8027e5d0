// Starts the server binary (SERVER_BIN, set by ./x test) on 127.0.0.1, waits until it answers
// /healthz, and stops it with SIGINT as cargo-leptos does. Used by global-setup.ts for the
// shared server and by tests that restart their own.
import { spawn, type ChildProcess } from 'node:child_process';
import * as readline from 'node:readline';

export interface Server {
  url: string;
  port: number;
  /** SIGINT, then wait for exit; returns how long that took in ms. */
  stop(): Promise<number>;
}

export async function startServer(options: { port?: number; env?: Record<string, string> } = {}): Promise<Server> {
  const bin = process.env.SERVER_BIN;
  if (!bin) throw new Error('SERVER_BIN is not set: run the browser tests through ./x test');
  const child = spawn(bin, [], {
    env: {
      ...process.env,
      LEPTOS_SITE_ADDR: `127.0.0.1:${options.port ?? 0}`,
      LEPTOS_ENV: 'PROD',
      RUST_LOG: 'warn',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await listeningUrl(child);
  await waitUntilServing(url);
  return {
    url,
    port: Number(new URL(url).port),
    async stop() {
      const started = Date.now();
      child.kill('SIGINT');
      const code = await Promise.race([exited, sleep(10_000).then(() => 'timeout' as const)]);
      if (code === 'timeout') {
        child.kill('SIGKILL');
        throw new Error('server still running 10 s after SIGINT');
      }
      if (code !== 0) throw new Error(`server exited with ${code}`);
      return Date.now() - started;
    },
  };
}

function listeningUrl(child: ChildProcess): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not report its address in 30 s')), 30_000);
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`server exited early with ${code}`)));
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /^listening on (http:\/\/\S+)$/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });
}

async function waitUntilServing(url: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer /healthz in 30 s`);
    await sleep(100);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
