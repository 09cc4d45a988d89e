// The daemon as users run it: a child process on a seconds-level schedule, scraped over HTTP,
// linted by promtool, stopped with SIGTERM, and restarted with its state rebuilt from the sites.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ceph.ts';
import { workspace, type Workspace } from '../helpers/fixture.ts';
import { manifestKey } from '../../src/catalog/layout.ts';
import { createBucket, dropBucket, listKeys, s3Env } from '../helpers/s3.ts';
import { run } from '../helpers/streams.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'lifeboat');
let ws: Workspace;
let port: number;
const children: ChildProcess[] = [];

function startDaemon(): { child: ChildProcess; logs: string[] } {
  const file = join(ws.dir, `daemon-${children.length}.yaml`);
  const child = spawn(process.execPath, [bin, 'daemon', '-c', file], { cwd: ws.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  child.stdout!.on('data', (b: Buffer) => logs.push(...b.toString().split('\n').filter(Boolean)));
  child.stderr!.on('data', (b: Buffer) => logs.push(b.toString()));
  children.push(child);
  return { child, logs };
}

async function writeConfigAndStart(
  schedule: string,
  extra = '',
  o: { source?: string; siteA?: string; siteB?: string; grace?: string; daemon?: string } = {},
): Promise<{ child: ChildProcess; logs: string[] }> {
  const source = o.source ?? '{ type: files, paths: [./data] }';
  const siteB = o.siteB?.startsWith('{') ? o.siteB : `{ type: fs, path: ${o.siteB ?? './site-b'} }`;
  const cfg = `encryption:\n  recipients: [${ws.recipient}]\n  identityFile: ./identity.txt\nsites:\n  a: ${o.siteA ?? '{ type: fs, path: ./site-a }'}\n  b: ${siteB}\napi: { listen: "127.0.0.1:${port}" }\ndaemon: { shutdownGrace: ${o.grace ?? '5s'}${o.daemon ?? ''} }\njobs:\n  docs:\n    source: ${source}\n    schedule: "${schedule}"\n${extra}`;
  await writeFile(join(ws.dir, `daemon-${children.length}.yaml`), cfg);
  return startDaemon();
}

async function get(path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, text: await res.text() };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function metric(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.split(',').every((p) => l.includes(p)));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

beforeAll(async () => {
  ws = await workspace();
  port = await freePort();
  await mkdir(join(ws.dir, 'data'), { recursive: true });
  await writeFile(join(ws.dir, 'data', 'file.txt'), 'hello\n');
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await ws?.cleanup();
});

describe('lifeboat daemon', () => {
  let recoveryPoint = 0;

  it('backs up on a seconds-level schedule and exports the results', async () => {
    const { child, logs } = await writeConfigAndStart('*/2 * * * * *', '    objectives: { rpo: 1h, rto: 10m }\n    retention: { keepLast: 3 }\n');
    await until('/readyz', async () => ((await get('/readyz')).status === 200 ? true : undefined));
    expect((await get('/healthz')).status).toBe(200);
    const text = await until('three successful runs', async () => {
      const t = (await get('/metrics')).text;
      return (metric(t, 'lifeboat_backup_runs_total', 'backup_job="docs",outcome="success"') ?? 0) >= 3 ? t : undefined;
    });
    recoveryPoint = metric(text, 'lifeboat_recovery_point_timestamp_seconds', 'backup_job="docs"') ?? 0;
    expect(recoveryPoint).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(metric(text, 'lifeboat_backup_last_success_timestamp_seconds', 'site="b"')).toBeGreaterThan(0);
    expect(metric(text, 'lifeboat_rpo_objective_seconds', 'backup_job="docs"')).toBe(3600);
    expect(metric(text, 'lifeboat_site_up', 'site="a"')).toBe(1);
    expect(metric(text, 'lifeboat_snapshots', 'site="a"')).toBeLessThanOrEqual(3);
    expect(text).toMatch(/lifeboat_build_info\{version="\d+\.\d+\.\d+"\} 1/);
    // promtool lints the live scrape.
    await run('promtool', ['check', 'metrics'], Buffer.from(text)).catch((err: Error) => {
      child.kill('SIGKILL');
      throw err;
    });
    expect(logs.some((l) => l.includes('"msg":"backup committed"') && l.includes('"backup_job":"docs"'))).toBe(true);
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    expect(logs.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
  });

  it('backs up to two Ceph S3 sites on time, and a restart reads the same recovery point from them', async () => {
    const env = s3Env();
    process.env.LB_TEST_CEPH_KEY = env.accessKeyId;
    process.env.LB_TEST_CEPH_SECRET = env.secretAccessKey;
    const buckets = await Promise.all(env.endpoints.slice(0, 2).map((e) => createBucket(e)));
    const s3 = (i: number): string =>
      `{ type: s3, endpoint: "${env.endpoints[i]}", bucket: ${buckets[i]}, prefix: lifeboat, forcePathStyle: true, accessKeyId: "\${env:LB_TEST_CEPH_KEY}", secretAccessKey: "\${env:LB_TEST_CEPH_SECRET}" }`;
    try {
      const first = await writeConfigAndStart('*/2 * * * * *', '    objectives: { rpo: 1h }\n', { siteA: s3(0), siteB: s3(1) });
      const text = await until('three successful runs', async () => {
        const t = (await get('/metrics')).text;
        return (metric(t, 'lifeboat_backup_runs_total', 'backup_job="docs",outcome="success"') ?? 0) >= 3 ? t : undefined;
      });
      first.child.kill('SIGTERM');
      expect((await once(first.child, 'exit'))[0]).toBe(0);
      for (const site of ['a', 'b']) expect(metric(text, 'lifeboat_site_up', `site="${site}"`)).toBe(1);
      // On time: every snapshot started within a second and a half of an even second (*/2).
      const manifests = (await Promise.all(buckets.map((b, i) => listKeys(env.endpoints[i]!, b)))).map((keys) => keys.filter((k) => k.endsWith('/manifest.json')));
      expect(manifests[0]!.length).toBeGreaterThanOrEqual(2);
      expect(manifests[1]).toEqual(manifests[0]);
      // The first run is a catch-up (no snapshot yet); the scheduled ones start on even seconds.
      const lines = first.logs.flatMap((l) => l.split('\n')).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, string>);
      const scheduled = new Set(lines.filter((l) => l.msg === 'backup queued' && l.reason === 'schedule').map((l) => l.operation));
      const ids = lines.filter((l) => l.msg === 'backup committed' && scheduled.has(l.operation!)).map((l) => l.snapshot!);
      expect(ids.length).toBeGreaterThanOrEqual(2);
      for (const id of ids) {
        expect(manifests[0]).toContain(`lifeboat/${manifestKey('docs', id)}`);
        expect(Number(id.slice(13, 15)) % 2, `snapshot ${id} started on an even second`).toBe(0);
      }
      const recovery = metric(text, 'lifeboat_recovery_point_timestamp_seconds', 'backup_job="docs"')!;
      // A restart with no schedule due reads the recovery point back from the two buckets.
      const second = await writeConfigAndStart('0 0 1 1 *', '    objectives: { rpo: 1h }\n', { siteA: s3(0), siteB: s3(1) });
      const after = await until('the catalog read from Ceph', async () => metric((await get('/metrics')).text, 'lifeboat_recovery_point_timestamp_seconds', 'backup_job="docs"'));
      expect(after).toBeGreaterThanOrEqual(recovery);
      expect(second.logs.some((l) => l.includes('backup queued'))).toBe(false);
      second.child.kill('SIGTERM');
      expect((await once(second.child, 'exit'))[0]).toBe(0);
    } finally {
      await Promise.all(buckets.map((b, i) => dropBucket(env.endpoints[i]!, b)));
    }
  });

  it('rebuilds its state from the sites after a restart, without running again', async () => {
    const { child, logs } = await writeConfigAndStart('0 0 1 1 *', '    objectives: { rpo: 1d }\n');
    await until('/readyz', async () => ((await get('/readyz')).status === 200 ? true : undefined));
    const text = (await get('/metrics')).text;
    expect(metric(text, 'lifeboat_recovery_point_timestamp_seconds', 'backup_job="docs"')).toBeGreaterThanOrEqual(recoveryPoint);
    expect(metric(text, 'lifeboat_backup_runs_total', 'outcome="success"')).toBeUndefined();
    expect(logs.some((l) => l.includes('backup queued'))).toBe(false);
    child.kill('SIGTERM');
    expect((await once(child, 'exit'))[0]).toBe(0);
  });

  it('runs drills on their schedule, exports the measured recovery time, and rebuilds drill metrics after a restart', async () => {
    const drillCfg = '    objectives: { rpo: 1d, rto: 10m }\n    drill:\n      schedule: "*/2 * * * * *"\n      target: { type: directory }\n      checks:\n        - { file: file.txt, minSize: 6 }\n';
    const first = await writeConfigAndStart('0 0 1 1 *', drillCfg);
    const text = await until('a passed drill', async () => {
      const t = (await get('/metrics')).text;
      return (metric(t, 'lifeboat_restore_test_runs_total', 'backup_job="docs",outcome="passed"') ?? 0) >= 1 ? t : undefined;
    }).finally(() => first.child.kill('SIGTERM'));
    expect((await once(first.child, 'exit'))[0]).toBe(0);
    const verified = metric(text, 'lifeboat_verified_recovery_point_timestamp_seconds', 'backup_job="docs"')!;
    expect(verified).toBeGreaterThan(0);
    expect(verified).toBeLessThanOrEqual(metric(text, 'lifeboat_recovery_point_timestamp_seconds', 'backup_job="docs"')!);
    expect(metric(text, 'lifeboat_recovery_time_seconds', 'backup_job="docs"')).toBeGreaterThan(0);
    expect(metric(text, 'lifeboat_restore_test_last_success_timestamp_seconds', 'backup_job="docs"')).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(metric(text, 'lifeboat_restore_test_site_last_success_timestamp_seconds', 'backup_job="docs",site="a"')).toBeGreaterThan(0);
    await run('promtool', ['check', 'metrics'], Buffer.from(text));
    // Restarted with no drill due, the daemon reads the same facts back from the reports.
    const second = await writeConfigAndStart('0 0 1 1 *', drillCfg.replace('*/2 * * * * *', '0 0 1 1 *'));
    const again = await until('the drill reports read', async () => metric((await get('/metrics')).text, 'lifeboat_verified_recovery_point_timestamp_seconds', 'backup_job="docs"'));
    expect(again).toBe(verified);
    second.child.kill('SIGTERM');
    expect((await once(second.child, 'exit'))[0]).toBe(0);
  });

  it('catches up at start when the newest snapshot is older than the RPO, and says why', async () => {
    const { child, logs } = await writeConfigAndStart('0 0 1 1 *', '    objectives: { rpo: 1s }\n');
    await until('a catch-up run', async () => (logs.some((l) => l.includes('catch-up: newest snapshot is')) && logs.some((l) => l.includes('backup committed')) ? true : undefined));
    child.kill('SIGTERM');
    expect((await once(child, 'exit'))[0]).toBe(0);
  });

  it('on SIGTERM during a backup waits out the grace period, aborts, commits nothing and exits 0', async () => {
    const slow = "{ type: command, dump: [sh, -c, 'head -c 100000 /dev/zero; sleep 60'] }";
    const { child, logs } = await writeConfigAndStart('0 0 1 1 *', '', { source: slow, grace: '1s', siteB: './slow-b' });
    await until('the slow backup to start', async () => (logs.some((l) => l.includes('backup queued')) ? true : undefined));
    await new Promise((r) => setTimeout(r, 500));
    const before = (await readdir(join(ws.dir, 'slow-b'), { recursive: true }).catch(() => [])).filter((n) => n.endsWith('manifest.json'));
    child.kill('SIGTERM');
    expect((await once(child, 'exit'))[0]).toBe(0);
    expect(logs.some((l) => l.includes('shutdown grace period over: aborting running jobs'))).toBe(true);
    const after = (await readdir(join(ws.dir, 'slow-b'), { recursive: true }).catch(() => [])).filter((n) => n.endsWith('manifest.json'));
    expect(after).toEqual(before);
  });

  it('shows a broken site in lifeboat_site_up and lifeboat_site_errors_total', async () => {
    await writeFile(join(ws.dir, 'not-a-dir'), 'x');
    const { child } = await writeConfigAndStart('*/2 * * * * *', '    minSites: 1\n', { siteB: './not-a-dir/b' });
    const text = await until('a run with a failed site', async () => {
      const t = (await get('/metrics')).text;
      return (metric(t, 'lifeboat_site_errors_total', 'site="b"') ?? 0) >= 1 ? t : undefined;
    });
    expect(metric(text, 'lifeboat_site_up', 'site="b"')).toBe(0);
    expect(metric(text, 'lifeboat_site_up', 'site="a"')).toBe(1);
    child.kill('SIGTERM');
    expect((await once(child, 'exit'))[0]).toBe(0);
  });

  it('retries a backup that failed for a passing reason, with backoff, then gives up until the next run', async () => {
    // An S3 site where nothing listens: connection refused is a passing fault.
    process.env.LB_TEST_RETRY_KEY = 'retry-test-key';
    const down = '{ type: s3, endpoint: "http://127.0.0.1:9", bucket: gone, forcePathStyle: true, accessKeyId: "${env:LB_TEST_RETRY_KEY}", secretAccessKey: "${env:LB_TEST_RETRY_KEY}" }';
    const { child, logs } = await writeConfigAndStart('0 0 1 1 *', '    objectives: { rpo: 1s }\n', { siteB: down, daemon: ', retries: 2, retryDelay: 100ms' });
    try {
      await until('retries to run out', async () => (logs.some((l) => l.includes('still failing after all retries')) ? true : undefined), 60_000);
      const retries = logs.flatMap((chunk) => chunk.split('\n')).filter((l) => l.includes('retrying'));
      expect(retries.map((l) => (JSON.parse(l) as { attempt: number }).attempt)).toEqual([1, 2]);
    } finally {
      child.kill('SIGTERM');
    }
    expect((await once(child, 'exit'))[0]).toBe(0);
  });

  it('does not retry a permanent failure', async () => {
    await writeFile(join(ws.dir, 'not-a-dir'), 'x');
    const { child, logs } = await writeConfigAndStart('0 0 1 1 *', '    objectives: { rpo: 1s }\n', { siteB: './not-a-dir/b', daemon: ', retries: 2, retryDelay: 100ms' });
    try {
      await until('the failed run', async () => (logs.some((l) => l.includes('backup failed')) ? true : undefined));
      await new Promise((r) => setTimeout(r, 1000));
      expect(logs.some((l) => l.includes('retrying'))).toBe(false);
    } finally {
      child.kill('SIGTERM');
    }
    expect((await once(child, 'exit'))[0]).toBe(0);
  });

  it('keeps secrets out of its logs and metrics', async () => {
    process.env.LB_TEST_DB_SECRET = 'db-secret-Zq81x';
    process.env.LB_TEST_S3_SECRET = 's3-secret-Wp44k';
    const pg = `{ type: postgres, url: "postgres://${process.env.LIFEBOAT_TEST_PGUSER ?? 'postgres'}@127.0.0.1:5432/postgres", password: "\${env:LB_TEST_DB_SECRET}", schemas: [lifeboat_no_such_schema] }`;
    const s3 = '{ type: s3, endpoint: "http://127.0.0.1:9", bucket: gone, forcePathStyle: true, accessKeyId: "${env:LB_TEST_S3_SECRET}", secretAccessKey: "${env:LB_TEST_S3_SECRET}" }';
    const { child, logs } = await writeConfigAndStart('0 0 1 1 *', '    minSites: 1\n    objectives: { rpo: 1s }\n', { source: pg, siteB: s3, daemon: ', retries: 0' });
    try {
      await until('a finished run', async () => (logs.some((l) => /backup (committed|failed)/.test(l)) ? true : undefined), 30_000).catch((err: Error) => {
        throw new Error(`${err.message}; the daemon said: ${logs.join('').slice(-1500)}`);
      });
      const scraped = (await get('/metrics')).text;
      for (const secret of ['db-secret-Zq81x', 's3-secret-Wp44k']) {
        expect(logs.join('')).not.toContain(secret);
        expect(scraped).not.toContain(secret);
      }
    } finally {
      child.kill('SIGTERM');
    }
    expect((await once(child, 'exit'))[0]).toBe(0);
  });
});
