/**
 * The daemon at scale: 1,000 configured jobs over two fs sites, each with two committed snapshots
 * per site (4,000 manifests). Measured: time from spawning `lifeboat daemon` to /readyz answering
 * 200 (the catalog read from the sites), CPU use while idle (10 s; 5 s with --quick), and /metrics
 * latency over 200 scrapes 100 ms apart (100 with --quick). Targets (issue 4): start under 5 s, idle under 1% of a core, /metrics p99 under 50 ms.
 * The same measurements of a one-job daemon in the same run are the reference.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { manifestKey, snapshotPrefix } from '../../src/catalog/layout.ts';
import { newSnapshotId } from '../../src/catalog/snapshot-id.ts';
import { benchWorkspace, lifeboatCmd, root } from './common.ts';
import { cpuSeconds, freePort } from './daemon-ops.ts';

export interface ScaleResult {
  jobs: number;
  startSeconds: number;
  idleCpuPercent: number;
  metricsP50Ms: number;
  metricsP99Ms: number;
  metricsBytes: number;
}

export interface ScaleRow {
  scale: ScaleResult;
  reference: ScaleResult;
  targets: { startSeconds: number; idleCpuPercent: number; metricsP99Ms: number };
}

/** Writes a config with `jobs` jobs and gives each two snapshots on both sites, copied from one real one. */
async function prepare(jobs: number): Promise<{ dir: string; config: string; port: number }> {
  const port = await freePort();
  const names = Array.from({ length: jobs }, (_, i) => `job-${String(i).padStart(4, '0')}`);
  const ws = await benchWorkspace(
    () =>
      `sites:\n  a: { type: fs, path: ./a }\n  b: { type: fs, path: ./b }\napi: { listen: "127.0.0.1:${port}" }\n` +
      `defaults: { schedule: "0 3 * * *", objectives: { rpo: 1d, rto: 1h }, retention: { keepLast: 2 } }\njobs:\n` +
      names.map((n) => `  ${n}: { source: { type: command, dump: [echo, "${n}"] } }\n`).join(''),
  );
  // One real snapshot; the others are its copies under each job's name and a fresh id.
  await run(`${lifeboatCmd} backup ${names[0]} -c "${ws.config}" --json`);
  const [first] = await readdir(join(ws.dir, 'a', 'jobs', names[0]!, 'snapshots'));
  // The same ids on both sites: a snapshot counts for the recovery point once it is on minSites.
  const ids = names.map((_, j) => [1, 2].map((hoursAgo) => ({ hoursAgo, id: newSnapshotId(new Date(Date.now() - hoursAgo * 3_600_000 - j)) })));
  for (const site of ['a', 'b']) {
    const srcDir = join(ws.dir, site, snapshotPrefix(names[0]!, first!));
    const manifest = JSON.parse(await readFile(join(ws.dir, site, manifestKey(names[0]!, first!)), 'utf8')) as Record<string, unknown> & { payload: { key: string } };
    for (const [j, name] of names.entries()) {
      for (const { hoursAgo, id } of ids[j]!) {
        const dest = join(ws.dir, site, snapshotPrefix(name, id));
        await mkdir(dest, { recursive: true });
        await cp(join(srcDir, manifest.payload.key.split('/').pop()!), join(dest, manifest.payload.key.split('/').pop()!));
        const m = { ...manifest, job: name, snapshotId: id, createdAt: new Date(Date.now() - hoursAgo * 3_600_000).toISOString(), payload: { ...manifest.payload, key: manifest.payload.key.replace(`jobs/${names[0]}/snapshots/${first}/`, snapshotPrefix(name, id)) } };
        await writeFile(join(dest, 'manifest.json'), JSON.stringify(m));
      }
    }
    await rm(srcDir, { recursive: true });
  }
  return { dir: ws.dir, config: ws.config, port };
}

function run(cmd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn('sh', ['-c', cmd], { stdio: 'ignore' });
    c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}`))));
  });
}

interface Pace {
  readonly idleMs: number;
  readonly scrapes: number;
}

async function measureDaemon(jobs: number, pace: Pace): Promise<ScaleResult> {
  const { dir, config, port } = await prepare(jobs);
  const started = performance.now();
  const child: ChildProcess = spawn(process.execPath, [join(root, 'bin', 'lifeboat'), 'daemon', '-c', config], { stdio: 'ignore', cwd: dir });
  try {
    const url = `http://127.0.0.1:${port}`;
    for (;;) {
      const ok = await fetch(`${url}/readyz`).then((r) => r.status === 200, () => false);
      if (ok) break;
      if (performance.now() - started > 60_000) throw new Error(`daemon with ${jobs} jobs not ready after 60 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const startSeconds = (performance.now() - started) / 1000;
    await new Promise((r) => setTimeout(r, 3000)); // let start-up work (compile cache writes, GC) settle
    const cpu0 = await cpuSeconds(child.pid!);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, pace.idleMs));
    const idleCpuPercent = ((await cpuSeconds(child.pid!)) - cpu0) / ((performance.now() - t0) / 1000) * 100;
    const latencies: number[] = [];
    let metricsBytes = 0;
    // Scrapes 100 ms apart: far more often than any Prometheus scrapes, yet not back to back.
    for (let i = 0; i < pace.scrapes; i++) {
      const t = performance.now();
      const body = await (await fetch(`${url}/metrics`)).text();
      latencies.push(performance.now() - t);
      metricsBytes = body.length;
      await new Promise((r) => setTimeout(r, 100));
    }
    latencies.sort((a, b) => a - b);
    const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)]!;
    return { jobs, startSeconds, idleCpuPercent, metricsP50Ms: pct(50), metricsP99Ms: pct(99), metricsBytes };
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
    await rm(dir, { recursive: true, force: true });
  }
}

export async function daemonScale(jobs: number, quick = false): Promise<ScaleRow> {
  const pace: Pace = quick ? { idleMs: 5_000, scrapes: 100 } : { idleMs: 10_000, scrapes: 200 };
  return {
    reference: await measureDaemon(1, pace),
    scale: await measureDaemon(jobs, pace),
    targets: { startSeconds: 5, idleCpuPercent: 1, metricsP99Ms: 50 },
  };
}
