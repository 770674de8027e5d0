// Edit to browser (`./x bench dev-loop`): runs `cargo leptos watch --hot-reload` as `./x dev`
// does, opens the Streams page in Chromium with its stream live and signed in, then applies
// each kind of edit a developer makes (a view's markup inside and outside an island, a
// component's code, a server handler, the CSS) ROUNDS times. For each it measures the time from
// saving the file to the open page showing the change and to its stream being live again,
// whether and when the page reloaded, page errors, and whether the session survived. Every file is put
// back after each round (and at the end, whatever happened). Prints the table and writes it to
// bench/dev-loop.md and BENCHMARKS.md's "Edit to browser" section. A benchmark, not a test: it
// asserts only that each edit arrived.
import { test, expect, type Page } from '@playwright/test';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const ROUNDS = Number(process.env.DEV_LOOP_ROUNDS ?? 3);
/** How long one edit may take to reach the page before it counts as never arriving. */
const ARRIVAL_MS = 90_000;
/** How long after an edit shows to wait for the reload of a rebuild that may follow it. */
const AFTERMATH_MS = 15_000;
/** `DEV_LOOP_ONLY=code`: only the kinds of edit whose name holds it, printed, not written. */
const ONLY = process.env.DEV_LOOP_ONLY ?? '';
/** The pause between one round's end and the next edit. */
const GAP_MS = Number(process.env.DEV_LOOP_GAP_MS ?? 3_000);
/** The watcher's address, set once it has started. */
let base = '';

/** One kind of edit: `apply` turns the file's text into the edited one for `tag`; `shows`
 *  tells whether the page (or server) shows `tag`'s version, or the original for `null`. */
type Edit = {
  kind: string;
  file: string;
  apply: (text: string, tag: string) => string;
  shows: (page: Page, tag: string | null, deadline: number) => Promise<boolean>;
};

/** `text` with `from` (which must occur exactly once) replaced by `to`. */
function replaceOnce(text: string, from: string, to: string): string {
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) {
    throw new Error(`${JSON.stringify(from)} must occur exactly once (a run that crashed? git checkout the file)`);
  }
  return text.slice(0, at) + to + text.slice(at + from.length);
}

/** Waits in the page until `fn` holds: checked on every DOM change and every 50 ms (a
 *  stylesheet that finished loading changes no node), with no traffic out of the page to slow
 *  the build it waits for. A reload ends the wait in the old page; it goes on in the new one. */
async function untilInPage<T>(page: Page, fn: (arg: T) => boolean, arg: T, deadline: number): Promise<boolean> {
  const source = fn.toString();
  while (performance.now() < deadline) {
    try {
      return await page.evaluate(
        ({ source, arg, ms }) =>
          new Promise<boolean>((resolve) => {
            const check = new Function(`return (${source})`)() as (arg: unknown) => boolean;
            const done = (held: boolean) => {
              observer.disconnect();
              clearInterval(timer);
              clearTimeout(timeout);
              resolve(held);
            };
            const test = () => {
              if (check(arg)) done(true);
            };
            const observer = new MutationObserver(test);
            observer.observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
            const timer = setInterval(test, 50);
            const timeout = setTimeout(() => done(false), ms);
            test();
          }),
        { source, arg, ms: Math.max(1, deadline - performance.now()) },
      );
    } catch {
      // the page reloaded mid-wait: go on in the new one
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return false;
}

const EDITS: Edit[] = [
  {
    kind: 'markup inside an island (the `<h1>` of the Streams page)',
    file: 'app/src/pages/streams.rs',
    apply: (text, tag) => replaceOnce(text, '<h1>"Streams"</h1>', `<h1>"Streams ${tag}"</h1>`),
    shows: (page, tag, deadline) =>
      untilInPage(page, (want) => document.querySelector('h1')?.textContent === want, tag ? `Streams ${tag}` : 'Streams', deadline),
  },
  {
    kind: 'markup outside any island (a link in the shell\'s `<nav>`)',
    file: 'app/src/lib.rs',
    apply: (text, tag) => replaceOnce(text, '<A href="/about">"About"</A>', `<A href="/about">"About ${tag}"</A>`),
    shows: (page, tag, deadline) =>
      untilInPage(
        page,
        (want) => document.querySelector('nav a[href="/about"]')?.textContent === want,
        tag ? `About ${tag}` : 'About',
        deadline,
      ),
  },
  {
    kind: 'a component\'s code (`clock_text`, called in the server clock\'s closure)',
    file: 'app/src/pages/streams.rs',
    apply: (text, tag) => replaceOnce(text, '"{:02}:{:02}:{:02}",', `"{:02}:{:02}:{:02} ${tag}",`),
    shows: (page, tag, deadline) =>
      untilInPage(
        page,
        (want) => {
          const shown = document.querySelector('[data-testid="server-time"]')?.textContent ?? '';
          return want === null ? /^\d\d:\d\d:\d\d$/.test(shown) : shown.endsWith(` ${want}`);
        },
        tag,
        deadline,
      ),
  },
  {
    kind: 'a server handler (`GET /healthz`\'s body)',
    file: 'server/src/api.rs',
    apply: (text, tag) => replaceOnce(text, '"ok\\n"', `"ok ${tag}\\n"`),
    shows: async (page, tag, deadline) => {
      const want = tag ? `ok ${tag}\n` : 'ok\n';
      while (performance.now() < deadline) {
        try {
          if ((await (await page.request.get(`${base}/healthz`, { timeout: 2_000 })).text()) === want) return true;
        } catch {
          // restarting
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      return false;
    },
  },
  {
    kind: 'CSS (a rule added to `style/main.css`)',
    file: 'style/main.css',
    apply: (text, tag) => `${text}\n.page-head h1 { outline: 1px solid rgb(1, 2, ${tag.slice(1)}); }\n`,
    shows: (page, tag, deadline) =>
      untilInPage(
        page,
        (want) => {
          const h1 = document.querySelector('h1');
          if (!h1) return false;
          const color = getComputedStyle(h1).outlineColor;
          return want === null ? !color.startsWith('rgb(1, 2, ') : color === want;
        },
        tag ? `rgb(1, 2, ${tag.slice(1)})` : null,
        deadline,
      ),
  },
];

type Sample = {
  visibleMs: number | null;
  /** When the page began to reload (the server was back), if it did. */
  reloadMs: number | null;
  liveMs: number | null;
  errors: number;
  signedIn: boolean;
};

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The milliseconds from `since` until `wait` (given its deadline) holds, or null. */
async function until(wait: (deadline: number) => Promise<boolean>, since: number, timeoutMs: number): Promise<number | null> {
  return (await wait(since + timeoutMs)) ? performance.now() - since : null;
}

const live = (page: Page, deadline: number) =>
  untilInPage(page, () => document.querySelector('[data-testid="status"]')?.getAttribute('data-status') === 'live', null, deadline);

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const seconds = (ms: number | null) => (ms === null ? 'never' : `${(ms / 1000).toFixed(2)} s`);

function table(results: Map<Edit, Sample[]>, machine: string): string {
  const rows = [...results].map(([edit, samples]) => {
    const arrived = samples.filter((s) => s.visibleMs !== null);
    const visible = samples.map((s) => seconds(s.visibleMs)).join(' / ');
    const med = median(arrived.map((s) => s.visibleMs!));
    const liveMed = median(samples.filter((s) => s.liveMs !== null).map((s) => s.liveMs!));
    const reloads = samples.filter((s) => s.reloadMs !== null);
    const reloaded = reloads.length
      ? `${reloads.length} of ${samples.length}, at ${seconds(median(reloads.map((s) => s.reloadMs!)))}`
      : `0 of ${samples.length}`;
    const errors = samples.reduce((n, s) => n + s.errors, 0);
    const signedIn = samples.every((s) => s.signedIn) ? 'yes' : 'no';
    return `| ${edit.kind} | **${seconds(arrived.length === samples.length ? med : null)}** (${visible}) | ${seconds(liveMed)} | ${reloaded} | ${errors} | ${signedIn} |`;
  });
  return [
    `${machine}: \`cargo leptos watch --hot-reload\` as \`./x dev\` runs it, the Streams page open in ` +
      `headless Chromium, signed in, its stream live; ${ROUNDS} rounds of each edit, each undone (and its ` +
      `undoing seen in the page) ${GAP_MS / 1000} s before the next. Times from saving the file. Levers tried: ` +
      'bench/dev-loop-levers.md.',
    '',
    '| edit | to the page showing it: median (each run) | to the stream live again | page reloaded (median time: the server was back) | page errors | still signed in |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

/** `markdown` with its "Edit to browser" section set to `body` (put before "Soak" if missing). */
function withSection(markdown: string, body: string): string {
  const heading = '## Edit to browser: `./x bench dev-loop`';
  const section = `${heading}\n\n${body}\n`;
  const start = markdown.indexOf('\n## Edit to browser');
  if (start >= 0) {
    const next = markdown.indexOf('\n## ', start + 1);
    return markdown.slice(0, start + 1) + section + (next >= 0 ? markdown.slice(next + 1) : '');
  }
  const soak = markdown.indexOf('\n## Soak');
  if (soak >= 0) return `${markdown.slice(0, soak + 1)}${section}\n${markdown.slice(soak + 1)}`;
  return `${markdown.trimEnd()}\n\n${section}`;
}

test('edit to browser', async ({ page }) => {
  test.setTimeout(40 * 60_000);
  const originals = new Map<string, string>();
  for (const edit of EDITS) {
    const file = path.join(ROOT, edit.file);
    originals.set(file, fs.readFileSync(file, 'utf8'));
    edit.apply(originals.get(file)!, 'b0'); // fails now, not mid-run, if the text has moved
  }
  const restore = () => {
    for (const [file, text] of originals) if (fs.readFileSync(file, 'utf8') !== text) fs.writeFileSync(file, text);
  };

  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const logFile = path.join(ROOT, 'target/bench/dev-loop-watch.log');
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const log = fs.openSync(logFile, 'w');
  // Its own process group, so that the watcher and the server it runs stop together.
  const watcher: ChildProcess = spawn('cargo', ['leptos', 'watch', '--hot-reload'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', log, log],
    env: {
      ...process.env,
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      LEPTOS_RELOAD_PORT: String(await freePort()),
      SESSION_KEY: 'b'.repeat(128),
      // As ./x dev: sessions kept across the restarts an edit makes.
      SESSIONS_FILE: path.join(ROOT, 'target/bench/dev-loop-sessions'),
      ORDER_SIMULATOR_MS: '0',
    },
  });
  // Ctrl-C reaches this worker too, but ends the test without running its `finally`.
  const stopWatcher = () => {
    if (!watcher.pid) return;
    try {
      // cargo-leptos runs the server in a process group of its own: stop it by its parent.
      execFileSync('pkill', ['-TERM', '-P', String(watcher.pid)]);
    } catch {
      // no children left
    }
    try {
      process.kill(-watcher.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      restore();
      stopWatcher();
      process.exit(130);
    });
  }
  const results = new Map<Edit, Sample[]>();
  try {
    console.log(`watcher started (log: ${path.relative(ROOT, logFile)}), waiting for ${base}`);
    const up = async (deadline: number) => {
      while (performance.now() < deadline) {
        try {
          if ((await page.request.get(`${base}/healthz`, { timeout: 2_000 })).ok()) return true;
        } catch {
          // still building
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      return false;
    };
    expect(await up(performance.now() + 15 * 60_000), 'the watcher serves the app').toBeTruthy();
    expect((await page.request.post(`${base}/api/session`, { data: { user: 'alice' } })).ok()).toBeTruthy();
    const signedIn = async () => {
      try {
        return (await (await page.request.get(`${base}/tasks`)).text()).includes('data-testid="user"');
      } catch {
        return false;
      }
    };
    expect(await signedIn(), 'signed in').toBeTruthy();

    let errors = 0;
    page.on('pageerror', () => errors++);
    page.on('console', (msg) => {
      // Refused connections while the server restarts are expected.
      if (msg.type() === 'error' && !/Failed to load resource|net::ERR_|WebSocket/.test(msg.text())) errors++;
    });
    let navigated: number | null = null;
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame() && navigated === null) navigated = performance.now();
    });
    await page.goto(`${base}/streams`);
    await expect(page.getByTestId('status')).toHaveAttribute('data-status', 'live', { timeout: 30_000 });

    for (const edit of EDITS.filter((e) => e.kind.includes(ONLY))) {
      const file = path.join(ROOT, edit.file);
      const samples: Sample[] = [];
      for (let round = 1; round <= ROUNDS; round++) {
        const tag = `b${round}`;
            errors = 0;
        navigated = null;
        fs.writeFileSync(file, edit.apply(originals.get(file)!, tag));
        const saved = performance.now();
        const visibleMs = await until((d) => edit.shows(page, tag, d), saved, ARRIVAL_MS);
        // Any Rust change is also rebuilt, and cargo-leptos reloads every page once the server
        // is back, even after patching the markup in place: wait for that too.
        const settle = performance.now() + AFTERMATH_MS;
        while (edit.file.endsWith('.rs') && navigated === null && performance.now() < settle) {
          await new Promise((r) => setTimeout(r, 50));
        }
        const liveMs = visibleMs === null ? null : await until((d) => live(page, d), saved, 30_000);
        const reloadMs = navigated === null ? null : (navigated as number) - saved;
        samples.push({ visibleMs, reloadMs, liveMs, errors, signedIn: await signedIn() });
        const reload = reloadMs === null ? '' : `, reloaded at ${seconds(reloadMs)}`;
        console.log(
          `  ${edit.kind}, round ${round}: ${seconds(visibleMs)} to the page${reload}, live at ${seconds(liveMs)}${errors ? `, ${errors} page errors` : ''}`,
        );
        // Undo it and wait until the page shows the original again (and, for Rust, until the
        // undo's rebuild has reloaded the page, so that it cannot count as the next round's).
        navigated = null;
        fs.writeFileSync(file, originals.get(file)!);
        const undone = await until((d) => edit.shows(page, null, d), performance.now(), ARRIVAL_MS);
        if (undone === null) {
          // The page missed the undo (as it may have missed the edit): start from a fresh load.
          await page.goto(`${base}/streams`);
          await until((d) => edit.shows(page, null, d), performance.now(), ARRIVAL_MS);
        }
        const rebuilt = performance.now() + AFTERMATH_MS;
        while (edit.file.endsWith('.rs') && navigated === null && performance.now() < rebuilt) {
          await new Promise((r) => setTimeout(r, 50));
        }
        await until((d) => live(page, d), performance.now(), 30_000);
        // A pause between edits, as a person makes them (the reloaded page compiles its wasm).
        await new Promise((r) => setTimeout(r, GAP_MS));
      }
      results.set(edit, samples);
    }
  } finally {
    restore();
    if (watcher.pid) {
      try {
        process.kill(-watcher.pid, 'SIGTERM'); // cargo-leptos stops its server
      } catch {
        // already gone
      }
      await new Promise((r) => setTimeout(r, 1_000));
      stopWatcher();
    }
    fs.closeSync(log);
  }

  const machine = `Measured ${new Date().toISOString().slice(0, 10)} on ${process.env.DEV_LOOP_MACHINE ?? 'this machine'}`;
  const report = table(results, machine);
  console.log(`\n${report}`);
  for (const [edit, samples] of results) {
    expect(samples.every((s) => s.visibleMs !== null), `${edit.kind}: every edit reached the page`).toBeTruthy();
  }
  if (ONLY) return;
  // Kept for `./x bench`, which rewrites BENCHMARKS.md and puts this section back from it.
  fs.writeFileSync(path.join(ROOT, 'bench/dev-loop.md'), report);
  const benchmarks = path.join(ROOT, 'BENCHMARKS.md');
  if (fs.existsSync(benchmarks)) fs.writeFileSync(benchmarks, withSection(fs.readFileSync(benchmarks, 'utf8'), report));
});
