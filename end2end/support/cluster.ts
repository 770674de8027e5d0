// Redis and nginx for the scale-out browser tests: a throwaway redis-server without persistence
// and nginx rendered from deploy/nginx.conf, each on a free loopback port and stopped by its
// own pid. Both come from Debian's packages (./x setup installs them).
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { sleep } from './server';

export interface Process {
  port: number;
  stop(): Promise<void>;
}

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startRedis(): Promise<Process> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  await waitForPort(port, child, 'redis-server');
  return { port, stop: () => stop(child) };
}

/** deploy/nginx.conf listening on `listen`, balancing over `instances` (as `./x cluster` does). */
export function nginxConf(template: string, listen: number, instances: number[]): string {
  const out: string[] = [];
  let inInstances = false;
  for (const line of template.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '# instances:end') inInstances = false;
    if (inInstances) continue;
    if (trimmed.startsWith('listen ')) {
      out.push(`        listen 127.0.0.1:${listen};`);
      continue;
    }
    out.push(line);
    if (trimmed === '# instances:begin') {
      inInstances = true;
      for (const port of instances) out.push(`        server 127.0.0.1:${port} max_fails=1 fail_timeout=2s;`);
    }
  }
  return out.join('\n');
}

export async function startNginx(instances: number[]): Promise<Process> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leptos-live-nginx-'));
  fs.mkdirSync(path.join(dir, 'logs'));
  fs.mkdirSync(path.join(dir, 'tmp'));
  // Workers run as nobody when nginx starts as root: let them into the temp folders.
  fs.chmodSync(dir, 0o755);
  const template = fs.readFileSync(path.join(__dirname, '../../deploy/nginx.conf'), 'utf8');
  fs.writeFileSync(path.join(dir, 'nginx.conf'), nginxConf(template, port, instances));
  const bin = process.env.NGINX_PATH ?? '/usr/sbin/nginx';
  const child = spawn(bin, ['-p', dir, '-c', 'nginx.conf', '-e', 'logs/error.log', '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitForPort(port, child, 'nginx');
  return {
    port,
    async stop() {
      await stop(child);
      if (!process.env.KEEP_NGINX) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, child: ChildProcess, what: string): Promise<void> {
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited !== undefined) throw new Error(`${what} exited with ${exited}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port} in 10 s`);
    await sleep(20);
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(5_000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}
