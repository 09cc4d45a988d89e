/**
 * Operations run by a running daemon, as scheduled backups and API requests run in production: no
 * process start-up, no module loading, no config parsing per operation. The daemon is started once
 * and warmed with one run of each operation; each measured operation is then requested through
 * /api/v1 and timed by the daemon's own record of it (queued → finished, in milliseconds), which
 * leaves out the HTTP round trips and the polling. CPU is the daemon's and its children's (pg_dump,
 * pg_restore, …) over the operation; peak RSS is the daemon's during the operation (the kernel's
 * high-water mark is reset before each one: `5` to /proc/PID/clear_refs), its baseline included.
 */
import { createHash, randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Measured } from '../measure.ts';
import { lifeboatCmd } from './common.ts';

const TICKS = 100; // USER_HZ on Linux

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** The CPU seconds of a process; with `children`, also those of the children it has waited for. */
export async function cpuSeconds(pid: number, children = false): Promise<number> {
  const f = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  const own = Number(f[11]) + Number(f[12]); // utime, stime
  return (children ? own + Number(f[13]) + Number(f[14]) : own) / TICKS; // cutime, cstime
}

async function peakRss(pid: number): Promise<number> {
  const m = /VmHWM:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** An `api` block for a bench config, with a fresh operator token (its hash in the config). */
export async function apiBlock(): Promise<{ yaml: string; url: string; token: string }> {
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const sha = createHash('sha256').update(token).digest('hex');
  return { yaml: `api:\n  listen: "127.0.0.1:${port}"\n  tokens:\n    - { name: bench, role: operator, sha256: ${sha} }\n`, url: `http://127.0.0.1:${port}`, token };
}

interface OperationRecord {
  id: string;
  state: 'queued' | 'running' | 'succeeded' | 'failed';
  queuedAt: string;
  finishedAt?: string;
  error?: string;
}

export class BenchDaemon {
  private readonly child: ChildProcess;
  private readonly api: { url: string; token: string };

  private constructor(child: ChildProcess, api: { url: string; token: string }) {
    this.child = child;
    this.api = api;
  }

  /** Starts `lifeboat daemon -c config` in `dir` and waits until /readyz answers. */
  static async start(dir: string, config: string, api: { url: string; token: string }, env: NodeJS.ProcessEnv): Promise<BenchDaemon> {
    const child = spawn('sh', ['-c', `exec env ${lifeboatCmd} daemon -c "${config}"`], { cwd: dir, env, stdio: 'ignore' });
    const d = new BenchDaemon(child, api);
    const started = performance.now();
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the bench daemon exited with status ${child.exitCode} (config ${config})`);
      if (await fetch(`${api.url}/readyz`).then((r) => r.status === 200, () => false)) return d;
      if (performance.now() - started > 30_000) {
        await d.stop();
        throw new Error('the bench daemon was not ready after 30 s');
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Requests an operation (`POST path` under /api/v1) and waits for it; fails when it fails. */
  async run(path: string, body?: unknown): Promise<Measured> {
    const pid = this.child.pid!;
    await writeFile(`/proc/${pid}/clear_refs`, '5');
    const cpu0 = await cpuSeconds(pid, true);
    const res = await this.request('POST', path, body);
    let op = (res as { operation: OperationRecord }).operation;
    while (op.state === 'queued' || op.state === 'running') {
      await new Promise((r) => setTimeout(r, 50));
      op = ((await this.request('GET', `/operations/${op.id}`)) as { operation: OperationRecord }).operation;
    }
    if (op.state === 'failed') throw new Error(`the daemon's ${path} failed: ${op.error ?? 'no error given'}`);
    return {
      wall: (Date.parse(op.finishedAt!) - Date.parse(op.queuedAt)) / 1000,
      cpu: (await cpuSeconds(pid, true)) - cpu0,
      peakRssBytes: await peakRss(pid),
    };
  }

  private async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${this.api.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${this.api.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await res.json()) as unknown;
    if (!res.ok) throw new Error(`${method} /api/v1${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    await once(this.child, 'exit');
  }
}
