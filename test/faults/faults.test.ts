// Fault injection (`npm run test:faults`, also part of `npm test`). Each fault states and checks its
// expected outcome: what is committed, what the user is told, what the metrics say, and that the
// next run succeeds. Backups run through the daemon (in process), as they would in production. At
// the end, every committed snapshot is read back in full (decrypted and decompressed): the summary
// counts faults injected, silent corruptions and committed snapshots lost — both must be 0.
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { Daemon } from '../../src/daemon/daemon.ts';
import type { Operation } from '../../src/daemon/operations.ts';
import { Metrics } from '../../src/metrics/metrics.ts';
import { parseConfig } from '../../src/config/load.ts';
import { Context } from '../../src/operations/context.ts';
import { restore } from '../../src/operations/restore.ts';
import { listSnapshots } from '../../src/operations/snapshots.ts';
import { heal, verify } from '../../src/operations/verify.ts';
import { workspace, type Workspace } from '../helpers/fixture.ts';
import { createBucket, dropBucket, incompleteUploads, listKeys, s3Env } from '../helpers/s3.ts';
import { execFileP } from '../helpers/streams.ts';
import { CephCluster } from '../helpers/ceph.ts';
import { FaultProxy } from './proxy.ts';

const env = s3Env();
const PGUSER = process.env.LIFEBOAT_TEST_PGUSER ?? 'postgres';
const bin = join(import.meta.dirname, '..', '..', 'bin', 'lifeboat');
const ledger: { fault: string; outcome: string }[] = [];
/** Snapshots of the `data` job committed on some site (the summary checks that each is still there). */
const committed = new Set<string>();
let ws: Workspace;
let ctx: Context;
let proxy: FaultProxy;
let bucket: string;
let daemon: Daemon;
let metrics: Metrics;
const childEnv = { ...process.env, LB_F_KEY: env.accessKeyId, LB_F_SECRET: env.secretAccessKey };

interface RunResult {
  ok: boolean;
  error?: string;
  snapshotId?: string;
  committed: string[];
  failed: { site: string; error: string; permanent: boolean }[];
}

/**
 * A backup run by a daemon, remembering what it committed. Resolves once the daemon is done with it,
 * heal and retention after the run included.
 */
async function run(d: Daemon = daemon, c: Context = ctx, job = 'data', onTick?: (op: Operation) => void): Promise<RunResult> {
  const op = d.trigger(c.job(job), 'fault test')!;
  while (d.busy(job)) {
    onTick?.(op);
    await new Promise((r) => setTimeout(r, 20));
  }
  const result = (op.result ?? { committed: [], failed: [] }) as Omit<RunResult, 'ok'>;
  const r: RunResult = { ...result, ok: op.state === 'succeeded', ...(op.error ? { error: op.error } : {}) };
  if (r.snapshotId && r.ok && job === 'data') committed.add(r.snapshotId);
  return r;
}

/** A sample of a daemon's metrics, by name and labels. */
async function metric(name: string, labels: Record<string, string>, from: Metrics = metrics): Promise<number | undefined> {
  const m = await from.registry.getSingleMetric(name)!.get();
  return m.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
}

/** A second daemon (own metrics) on another config, for faults that need a different config. */
function sideDaemon(c: Context): { d: Daemon; m: Metrics } {
  const m = new Metrics();
  return { d: new Daemon(c, m, pino({ level: 'silent' }), { concurrency: 1, shutdownGraceMs: 5000, retries: 0, retryDelayMs: 1000, leaseTtlMs: 60_000 }), m };
}

/** The daemon's verify of the test job (as its schedule would run it); resolves when it ends. */
async function daemonVerify(): Promise<Operation> {
  const op = daemon.triggerVerify(ctx.job('data'), 'fault test')!;
  while (op.state === 'queued' || op.state === 'running') await new Promise((r) => setTimeout(r, 50));
  return op;
}

const successes = async (from: Metrics = metrics, job = 'data'): Promise<number> => (await metric('lifeboat_backup_runs_total', { backup_job: job, outcome: 'success' }, from)) ?? 0;

beforeAll(async () => {
  ws = await workspace();
  bucket = await createBucket(env.endpoints[0]!);
  proxy = await new FaultProxy(env.endpoints[0]!).start();
  await mkdir(join(ws.dir, 'data'));
  await execFileP('sh', ['-c', `head -c 12000000 /dev/urandom > "${join(ws.dir, 'data', 'random.bin')}"; seq 1 200000 > "${join(ws.dir, 'data', 'lines.txt')}"`]);
  const yaml = `sites:
  a: { type: fs, path: ./site-a }
  b: { type: s3, endpoint: "${proxy.endpoint}", bucket: ${bucket}, prefix: lb, forcePathStyle: true, accessKeyId: "\${env:LB_F_KEY}", secretAccessKey: "\${env:LB_F_SECRET}", partSizeMiB: 5, requestTimeout: 3s }
jobs:
  data:
    source: { type: files, paths: [./data] }
    minSites: 1
`;
  ctx = await ws.context(yaml, childEnv);
  metrics = new Metrics();
  daemon = new Daemon(ctx, metrics, pino({ level: 'silent' }), { concurrency: 1, shutdownGraceMs: 5000, retries: 0, retryDelayMs: 1000, leaseTtlMs: 60_000 });
}, 60_000);

afterAll(async () => {
  proxy?.set({ kind: 'pass' });
  // Every snapshot that was ever committed is still there and reads back whole on some site.
  let lost = 0;
  let corrupt = 0;
  if (ctx) {
    const list = await listSnapshots(ctx, 'data');
    for (const id of committed) if (!list.snapshots.some((s) => s.id === id)) lost++;
    const v = await verify(ctx, 'data', { deep: true });
    const good = new Set(v.checked.filter((c) => c.ok).map((c) => c.snapshotId));
    for (const s of list.snapshots) if (!good.has(s.id)) corrupt++;
  }
  const rows = ledger.map((l) => `| ${l.fault} | ${l.outcome} |`);
  console.log(
    ['', 'Fault injection summary', '', '| fault | outcome |', '|---|---|', ...rows, '', `faults injected: ${ledger.length}; silent corruptions: ${corrupt}; committed snapshots lost: ${lost}`].join('\n'),
  );
  await daemon?.stop();
  ctx?.close();
  await proxy?.stop();
  await dropBucket(env.endpoints[0]!, bucket).catch(() => {});
  await ws?.cleanup();
  expect(corrupt).toBe(0);
  expect(lost).toBe(0);
}, 120_000);

describe('fault injection', () => {
  it('a healthy run commits on both sites', async () => {
    const r = await run();
    expect(r.committed).toEqual(['a', 'b']);
  });

  it('connections reset mid-upload on site b: a commits, b is named, nothing half-written; the next run commits on both', async () => {
    proxy.set({ kind: 'reset', afterBytes: 6 << 20 });
    const r = await run();
    expect(r.ok).toBe(true);
    expect(r.committed).toEqual(['a']);
    expect(r.failed[0]).toMatchObject({ site: 'b', permanent: false });
    expect((await listKeys(env.endpoints[0]!, bucket)).filter((k) => k.includes(r.snapshotId!))).toEqual([]);
    expect(await metric('lifeboat_site_up', { site: 'b' })).toBe(0);
    expect(await metric('lifeboat_site_errors_total', { site: 'b', operation: 'backup' })).toBeGreaterThanOrEqual(1);
    const successes = (await metric('lifeboat_backup_runs_total', { backup_job: 'data', outcome: 'success' })) ?? 0;
    proxy.set({ kind: 'pass' });
    const next = await run();
    expect(next.committed).toEqual(['a', 'b']);
    expect(await metric('lifeboat_site_up', { site: 'b' })).toBe(1);
    expect(await metric('lifeboat_backup_runs_total', { backup_job: 'data', outcome: 'success' })).toBe(successes + 1);
    // The daemon heals b after that run: the snapshot b missed arrives.
    expect((await listKeys(env.endpoints[0]!, bucket)).some((k) => k.includes(`${r.snapshotId!}/manifest.json`))).toBe(true);
    expect(await incompleteUploads(env.endpoints[0]!, bucket)).toBe(0);
    ledger.push({ fault: 'TCP reset after 6 MiB on site b', outcome: 'committed on a only, b named as a passing failure, no object or part left on b, site_up{b}=0 and site_errors_total{b} up; next run committed on both, site_up{b}=1, and healed the missed snapshot onto b' });
  }, 120_000);

  it('a blackholed gateway: the request times out, the run ends in bounded time and says which site', async () => {
    proxy.set({ kind: 'blackhole' });
    const started = Date.now();
    const r = await run();
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(r.committed).toEqual(['a']);
    expect(r.failed[0]!.site).toBe('b');
    expect(await metric('lifeboat_site_up', { site: 'b' })).toBe(0);
    proxy.set({ kind: 'pass' });
    ledger.push({ fault: 'site b accepts connections and never answers', outcome: `committed on a after ${Math.round((Date.now() - started) / 1000)} s, b named, site_up{b}=0; nothing on b` });
  }, 90_000);

  it('latency and a bandwidth cap: slower, still whole', async () => {
    proxy.set({ kind: 'slow', latencyMs: 20, bytesPerSecond: 8 << 20 });
    const r = await run();
    expect(r.committed, JSON.stringify(r.failed)).toEqual(['a', 'b']);
    const target = join(ws.dir, 'restored-slow');
    const rr = await restore(ctx, 'data', { snapshot: r.snapshotId!, site: 'b', target });
    expect(rr.site).toBe('b');
    expect(await readFile(join(target, 'lines.txt'), 'utf8')).toBe(await readFile(join(ws.dir, 'data', 'lines.txt'), 'utf8'));
    proxy.set({ kind: 'pass' });
    ledger.push({ fault: '20 ms latency and 8 MiB/s on site b', outcome: 'committed on both; restore from b identical' });
  }, 120_000);

  it('SIGKILL of Lifeboat mid-backup: no manifest anywhere; the next run clears the upload and commits', async () => {
    proxy.set({ kind: 'slow', latencyMs: 0, bytesPerSecond: 1 << 20 });
    const child = spawn(process.execPath, [bin, 'backup', 'data', '-c', join(ws.dir, 'lifeboat.yaml')], { env: childEnv, stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 3000));
    child.kill('SIGKILL');
    await once(child, 'exit');
    proxy.set({ kind: 'pass' });
    const before = new Set((await listSnapshots(ctx, 'data')).snapshots.map((s) => s.id));
    expect([...before].every((id) => committed.has(id))).toBe(true);
    expect(await incompleteUploads(env.endpoints[0]!, bucket)).toBeGreaterThan(0);
    const runs = await successes();
    const point = (await metric('lifeboat_recovery_point_timestamp_seconds', { backup_job: 'data' }))!;
    const r = await run();
    expect(r.committed).toEqual(['a', 'b']);
    expect(await successes()).toBe(runs + 1);
    expect(await metric('lifeboat_recovery_point_timestamp_seconds', { backup_job: 'data' })).toBeGreaterThan(point);
    expect(await incompleteUploads(env.endpoints[0]!, bucket)).toBe(0);
    const tmp = (await readdir(join(ws.dir, 'site-a'), { recursive: true })).filter((n) => String(n).includes('.lifeboat-tmp-'));
    expect(tmp).toEqual([]);
    ledger.push({ fault: 'SIGKILL of lifeboat backup after 3 s', outcome: 'no new snapshot listed; the next daemon run aborted the multipart upload, swept temp files and committed; runs_total{success} +1, recovery point moved forward' });
  }, 120_000);

  it('SIGKILL of Lifeboat mid-restore: the target is never half there; a second restore succeeds', async () => {
    proxy.set({ kind: 'slow', latencyMs: 0, bytesPerSecond: 1 << 20 });
    const target = join(ws.dir, 'restored-killed');
    const child = spawn(process.execPath, [bin, 'restore', 'data', '--site', 'b', '--to', target, '-c', join(ws.dir, 'lifeboat.yaml')], { env: childEnv, stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 3000));
    child.kill('SIGKILL');
    await once(child, 'exit');
    proxy.set({ kind: 'pass' });
    expect(await stat(target).then(() => 'exists', () => 'absent')).toBe('absent');
    const partials = async (): Promise<string[]> => (await readdir(ws.dir)).filter((n) => n.startsWith('.restored-killed.lifeboat-partial-'));
    expect(await partials()).toHaveLength(1);
    const rr = await restore(ctx, 'data', { snapshot: 'latest', target });
    expect((await stat(join(target, 'random.bin'))).size).toBe(12_000_000);
    // The killed run's partial folder is gone too, and the restore says it removed it.
    expect(await partials()).toEqual([]);
    expect(rr.facts).toMatchObject({ removedPartials: [expect.stringContaining('.restored-killed.lifeboat-partial-')] });
    ledger.push({ fault: 'SIGKILL of lifeboat restore after 3 s', outcome: 'target absent (unpacked beside it, moved into place only when verified); next restore whole, and it removed the killed run\'s partial folder' });
  }, 120_000);

  it('a truncated payload on site a: the restore falls back to b and says why; verify names it', async () => {
    const id = [...committed].at(-1)!;
    const dir = join(ws.dir, 'site-a', 'jobs', 'data', 'snapshots', id);
    const payload = join(dir, (await readdir(dir)).find((n) => n.startsWith('payload'))!);
    const bytes = await readFile(payload);
    await writeFile(payload, bytes.subarray(0, bytes.length - 1000));
    const fallbacks: string[] = [];
    const rr = await restore(ctx, 'data', { snapshot: id, target: join(ws.dir, 'restored-trunc'), onFallback: (site, err) => fallbacks.push(`${site}: ${err.message}`) });
    expect(rr.site).toBe('b');
    expect(fallbacks[0]).toMatch(/^a: .*(bytes instead of|truncated|SHA-256)/);
    const v = await verify(ctx, 'data', { site: 'a' });
    expect(v.checked.find((c) => c.snapshotId === id)).toMatchObject({ ok: false });
    // The daemon's verify reports it in its metrics; `heal --check` copies it again from b.
    expect((await daemonVerify()).state).toBe('failed');
    expect(await metric('lifeboat_verify_damaged_copies', { backup_job: 'data', site: 'a' })).toBe(1);
    expect(await metric('lifeboat_verify_damaged_copies', { backup_job: 'data', site: 'b' })).toBe(0);
    const h = await heal(ctx, 'data', { check: true });
    expect(h.copied).toEqual([{ snapshotId: id, from: 'b', to: 'a' }]);
    expect(await readFile(payload)).toEqual(bytes);
    expect((await daemonVerify()).state).toBe('succeeded');
    expect(await metric('lifeboat_verify_damaged_copies', { backup_job: 'data', site: 'a' })).toBe(0);
    expect((await run()).committed).toEqual(['a', 'b']);
    ledger.push({ fault: 'payload on site a truncated by 1,000 bytes', outcome: 'restore fell back to b naming a; verify named the copy, verify_damaged_copies{a}=1; heal --check copied it again from b (byte-identical), then 0; next run committed on both' });
  }, 60_000);

  it('a bit flipped in a manifest on site a: that copy is damaged, never listed from a; restore uses b', async () => {
    const id = [...committed].at(-1)!;
    const file = join(ws.dir, 'site-a', 'jobs', 'data', 'snapshots', id, 'manifest.json');
    const original = await readFile(file);
    const flipped = Buffer.from(original);
    const at = flipped.indexOf('"plaintext"') + 30;
    flipped[at]! ^= 0x01;
    await writeFile(file, flipped);
    const list = await listSnapshots(ctx, 'data');
    const listing = list.listings.find((l) => l.site === 'a')!;
    const stillOnA = listing.snapshots.some((x) => x.manifest.snapshotId === id);
    // A flip inside a value may still parse (a changed hash or size): then the payload check fails.
    const rr = await restore(ctx, 'data', { snapshot: id, target: join(ws.dir, 'restored-manifest-flip') });
    if (stillOnA) expect(rr.site).toBe('b');
    else expect(listing.damaged.map((d) => d.id)).toContain(id);
    const v = await verify(ctx, 'data', { site: 'a' });
    expect(v.checked.find((c) => c.snapshotId === id)).toMatchObject({ ok: false });
    expect((await daemonVerify()).state).toBe('failed');
    expect(await metric('lifeboat_verify_damaged_copies', { backup_job: 'data', site: 'a' })).toBe(1);
    // The next run commits, and heal (after it, or `heal --check`) puts b's manifest back on a.
    expect((await run()).committed).toEqual(['a', 'b']);
    await heal(ctx, 'data', { check: true });
    expect(await readFile(file)).toEqual(original);
    expect((await daemonVerify()).state).toBe('succeeded');
    ledger.push({ fault: 'one bit flipped in a manifest on site a', outcome: 'the copy on a counts as damaged (unparseable, or its payload no longer matches); restore came from b; verify named it, verify_damaged_copies{a}=1; next run committed on both; heal restored the manifest from b' });
  }, 60_000);

  it('a bit flipped in a payload on site a, and a manifest cut short on site a: both copies damaged, restored from b, healed', async () => {
    const ids = [...committed];
    const [flipId, cutId] = [ids.at(-1)!, ids.at(-2)!];
    const snapDir = (id: string): string => join(ws.dir, 'site-a', 'jobs', 'data', 'snapshots', id);
    const payload = join(snapDir(flipId), (await readdir(snapDir(flipId))).find((n) => n.startsWith('payload'))!);
    const payloadBytes = await readFile(payload);
    const flipped = Buffer.from(payloadBytes);
    flipped[Math.floor(flipped.length / 2)]! ^= 0x04;
    await writeFile(payload, flipped);
    const manifest = join(snapDir(cutId), 'manifest.json');
    const manifestBytes = await readFile(manifest);
    await writeFile(manifest, manifestBytes.subarray(0, manifestBytes.length >> 1));
    // Same size, different bytes: the restore from a fails its hash and falls back to b.
    const fallbacks: string[] = [];
    const rr = await restore(ctx, 'data', { snapshot: flipId, target: join(ws.dir, 'restored-flip'), onFallback: (site, err) => fallbacks.push(`${site}: ${err.message}`) });
    expect(rr.site).toBe('b');
    expect(fallbacks[0]).toMatch(/^a: .*(SHA-256|authentication)/);
    // The cut manifest does not parse: that copy is not a snapshot on a (listed as damaged).
    const listing = (await listSnapshots(ctx, 'data')).listings.find((l) => l.site === 'a')!;
    expect(listing.damaged.map((d) => d.id)).toContain(cutId);
    expect((await daemonVerify()).state).toBe('failed');
    expect(await metric('lifeboat_verify_damaged_copies', { backup_job: 'data', site: 'a' })).toBe(2);
    const h = await heal(ctx, 'data', { check: true });
    expect(h.copied.map((c) => c.snapshotId).sort()).toEqual([cutId, flipId].sort());
    expect(await readFile(payload)).toEqual(payloadBytes);
    expect(await readFile(manifest)).toEqual(manifestBytes);
    expect((await daemonVerify()).state).toBe('succeeded');
    expect((await run()).committed).toEqual(['a', 'b']);
    ledger.push({ fault: 'one bit flipped in a payload on site a; a manifest on site a cut in half', outcome: 'restore from a failed its hash and fell back to b; the cut manifest listed as damaged; verify_damaged_copies{a}=2; heal --check restored both byte for byte; next run committed on both' });
  }, 60_000);

  it('a wrong S3 secret for site b: a permanent failure naming the site, never the secret; a commits', async () => {
    const text = (await readFile(join(ws.dir, 'lifeboat.yaml'), 'utf8')).replace('${env:LB_F_SECRET}', '${env:LB_F_WRONG}');
    const wrong = new Context(parseConfig(text, join(ws.dir, 'lifeboat.yaml'), { env: { ...childEnv, LB_F_WRONG: 'wrong-secret-Kq83' } }));
    const side = sideDaemon(wrong);
    const r = await run(side.d, wrong);
    expect(r.committed).toEqual(['a']);
    expect(r.failed[0]).toMatchObject({ site: 'b', permanent: true });
    expect(r.failed[0]!.error).toMatch(/site "b"/);
    expect(JSON.stringify(r)).not.toContain('wrong-secret-Kq83');
    expect(await metric('lifeboat_site_up', { site: 'b' }, side.m)).toBe(0);
    expect(await metric('lifeboat_site_errors_total', { site: 'b', operation: 'backup' }, side.m)).toBe(1);
    expect(await side.m.registry.metrics()).not.toContain('wrong-secret-Kq83');
    await side.d.stop();
    wrong.close();
    // With the right secret again, the next run commits on both and heal brings b the snapshot it missed.
    const next = await run();
    expect(next.committed).toEqual(['a', 'b']);
    expect(await metric('lifeboat_site_up', { site: 'b' })).toBe(1);
    expect((await listKeys(env.endpoints[0]!, bucket)).some((k) => k.includes(`${r.snapshotId!}/manifest.json`))).toBe(true);
    ledger.push({ fault: 'wrong S3 secret for site b', outcome: 'committed on a; b failed as permanent (not retried) with a message naming the site, not the secret; site_up{b}=0, site_errors_total{b}=1, no secret in the metrics; with the right secret the next run committed on both and healed b' });
  }, 60_000);

  it('pg_dump killed mid-dump: nothing committed anywhere, the error says how it died; the next run commits', async () => {
    const db = `lifeboat_fault_${process.pid}`;
    const psql = (sql: string, d = 'postgres'): Promise<unknown> => execFileP('psql', ['-X', '-q', '-h', '127.0.0.1', '-U', PGUSER, '-d', d, '-c', sql]);
    await psql(`CREATE DATABASE ${db}`);
    try {
      await psql("CREATE TABLE big AS SELECT g, md5(g::text) || repeat('x', 200) AS t FROM generate_series(1, 1500000) g", db);
      const text = (await readFile(join(ws.dir, 'lifeboat.yaml'), 'utf8')).replace(/jobs:[\s\S]*$/, `jobs:\n  pg:\n    source: { type: postgres, url: "postgres://${PGUSER}@127.0.0.1:5432/${db}" }\n`);
      const pg = new Context(parseConfig(text, join(ws.dir, 'lifeboat.yaml'), { env: childEnv }));
      // Kill this process's own pg_dump child once it is streaming (other tests may run pg_dump too).
      const killer = (async () => {
        for (let i = 0; i < 400; i++) {
          await new Promise((r) => setTimeout(r, 10));
          const pids = (await execFileP('pgrep', ['-P', String(process.pid), '-x', 'pg_dump']).catch(() => ({ stdout: '' }))).stdout.split('\n').filter(Boolean);
          // The dump itself, not the `pg_dump --version` that precedes it.
          const dumping = [];
          for (const pid of pids) if ((await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).includes('--format=custom')) dumping.push(Number(pid));
          if (dumping.length > 0) {
            for (const pid of dumping) process.kill(pid, 'SIGKILL');
            return true;
          }
        }
        return false;
      })();
      const side = sideDaemon(pg);
      const r = await run(side.d, pg, 'pg');
      expect(await killer).toBe(true);
      expect(r.ok).toBe(false);
      expect(r.error).toMatch(/pg_dump .*(killed by SIGKILL|exited)/);
      expect((await listSnapshots(pg, 'pg')).snapshots).toEqual([]);
      expect((await listKeys(env.endpoints[0]!, bucket)).filter((k) => k.includes('/jobs/pg/') && !k.includes('/locks/'))).toEqual([]);
      expect(await metric('lifeboat_backup_runs_total', { backup_job: 'pg', outcome: 'failed' }, side.m)).toBe(1);
      expect(await metric('lifeboat_backup_last_success_timestamp_seconds', { backup_job: 'pg' }, side.m)).toBeUndefined();
      // The sites were fine: a failing source does not mark them down.
      expect(await metric('lifeboat_site_up', { site: 'b' }, side.m)).not.toBe(0);
      const again = await run(side.d, pg, 'pg');
      expect(again.committed).toEqual(['a', 'b']);
      expect(await successes(side.m, 'pg')).toBe(1);
      expect(await metric('lifeboat_backup_last_success_timestamp_seconds', { backup_job: 'pg' }, side.m)).toBeGreaterThan(0);
      await side.d.stop();
      pg.close();
    } finally {
      await psql(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => {});
    }
    ledger.push({ fault: 'pg_dump SIGKILLed mid-dump', outcome: 'nothing committed on either site, the error says pg_dump was killed; runs_total{failed}=1, no last-success time, sites not marked down; the next run committed on both and set it' });
  }, 120_000);

  it('a gateway killed mid-upload: no manifest there, the other site commits, the next run clears the multipart upload', async (t) => {
    const cephDir = env.cephDir;
    if (!cephDir) {
      ledger.push({ fault: 'gateway killed mid-upload', outcome: 'skipped: the S3 store is not a Ceph cluster this run started' });
      return t.skip();
    }
    const cluster = CephCluster.attach(cephDir);
    const doomedBucket: { endpoint?: string; name?: string } = {};
    try {
      const gw = await cluster.addGateway();
      doomedBucket.endpoint = gw.endpoint;
      doomedBucket.name = await createBucket(gw.endpoint);
      const big = join(ws.dir, 'big');
      await mkdir(big, { recursive: true });
      // Incompressible data, so that the upload takes long enough to be interrupted.
      for (let i = 0; i < 6; i++) await writeFile(join(big, `blob-${i}`), randomFillSync(Buffer.alloc(16 << 20)));
      const text = (await readFile(join(ws.dir, 'lifeboat.yaml'), 'utf8'))
        .replace(/\njobs:[\s\S]*$/, `\n  doomed: { type: s3, endpoint: "${gw.endpoint}", bucket: ${doomedBucket.name}, prefix: lb, forcePathStyle: true, accessKeyId: "\${env:LB_F_KEY}", secretAccessKey: "\${env:LB_F_SECRET}" }\njobs:\n  big:\n    source: { type: files, paths: [./big] }\n    sites: [a, doomed]\n    minSites: 1\n`);
      const c = new Context(parseConfig(text, join(ws.dir, 'lifeboat.yaml'), { env: childEnv }));
      const side = sideDaemon(c);
      let killed = false;
      const r = await run(side.d, c, 'big', (op) => {
        if (!killed && op.progress.bytes > 32 << 20) {
          killed = true;
          cluster.killGateway(gw.name);
        }
      });
      expect(killed).toBe(true);
      expect(r.committed).toEqual(['a']);
      expect(r.failed[0]?.site).toBe('doomed');
      expect(await metric('lifeboat_site_up', { site: 'doomed' }, side.m)).toBe(0);
      await cluster.startGateway(gw.name);
      expect((await listKeys(gw.endpoint, doomedBucket.name)).filter((k) => k.endsWith('manifest.json'))).toEqual([]);
      const r2 = await run(side.d, c, 'big');
      expect(r2.committed).toEqual(['a', 'doomed']);
      expect(await metric('lifeboat_site_up', { site: 'doomed' }, side.m)).toBe(1);
      expect(await incompleteUploads(gw.endpoint, doomedBucket.name)).toBe(0);
      // Heal after that run copied the snapshot the gateway missed.
      expect((await listKeys(gw.endpoint, doomedBucket.name)).filter((k) => k.endsWith('manifest.json'))).toHaveLength(2);
      await side.d.stop();
      c.close();
      await rm(big, { recursive: true, force: true });
    } finally {
      if (doomedBucket.endpoint && doomedBucket.name) await dropBucket(doomedBucket.endpoint, doomedBucket.name).catch(() => {});
      await cluster.stop();
    }
    ledger.push({ fault: 'a gateway SIGKILLed after 32 MiB of a 96 MiB upload was read', outcome: 'committed on a, the other site named, site_up=0 for it; no manifest there; the next run cleared the multipart upload, committed on both (site_up=1) and healed the missed snapshot' });
  }, 180_000);

  it('a missing and a wrong identity: the restore refuses at once, writes nothing, and says what to fix', async () => {
    const other = await workspace();
    const withIdentity = async (identityFile: string): Promise<Context> => {
      const text = (await readFile(join(ws.dir, 'lifeboat.yaml'), 'utf8')).replace(/identityFile: .*/, `identityFile: ${identityFile}`);
      return new Context(parseConfig(text, join(ws.dir, 'lifeboat.yaml'), { env: childEnv }));
    };
    const wrong = await withIdentity(other.identityFile);
    const t1 = join(ws.dir, 'restored-wrong-id');
    await expect(restore(wrong, 'data', { snapshot: 'latest', target: t1 })).rejects.toThrow(/identit/i);
    expect(await stat(t1).then(() => 'exists', () => 'absent')).toBe('absent');
    wrong.close();
    await other.cleanup();
    const missing = await withIdentity('./no-such-identity.txt');
    await expect(restore(missing, 'data', { snapshot: 'latest', target: join(ws.dir, 'restored-no-id') })).rejects.toThrow(/no-such-identity\.txt/);
    missing.close();
    expect((await run()).committed).toEqual(['a', 'b']);
    ledger.push({ fault: 'wrong identity; missing identity file', outcome: 'refused before writing, naming the identity problem; the next run committed on both' });
  }, 60_000);

  it('a clock three hours off (SigV4 requests out of the allowed window): the SDK corrects for it and the run commits', async () => {
    const faketime = await execFileP('sh', ['-c', 'command -v faketime']).then(() => true, () => false);
    if (!faketime) {
      ledger.push({ fault: 'clock skew', outcome: 'skipped: faketime is not installed (Debian package faketime)' });
      return;
    }
    const before = new Set((await listSnapshots(ctx, 'data')).snapshots.map((s) => s.id));
    const r = await execFileP('faketime', ['-f', '+3h', process.execPath, bin, 'backup', 'data', '--json', '-c', join(ws.dir, 'lifeboat.yaml')], { env: childEnv });
    const report = JSON.parse(r.stdout) as { ok: boolean; committed: string[]; snapshotId: string };
    expect(report).toMatchObject({ ok: true, committed: ['a', 'b'] });
    committed.add(report.snapshotId);
    expect(before.has(report.snapshotId)).toBe(false);
    await restore(ctx, 'data', { snapshot: report.snapshotId, site: 'b', target: join(ws.dir, 'restored-skew') });
    ledger.push({ fault: 'clock 3 h ahead of the S3 site', outcome: 'committed on both (the SDK corrects its clock offset from the refusal); restore from b whole' });
  }, 60_000);

  it('an fs site on a filesystem that fills up: a permanent failure named with its cause; a commits elsewhere', async () => {
    const small = join(ws.dir, 'small');
    await mkdir(small, { recursive: true });
    const mounted = await execFileP('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', small]).then(
      () => true,
      () => false,
    );
    if (!mounted) {
      ledger.push({ fault: 'full filesystem', outcome: 'skipped: cannot mount a small tmpfs here (needs root)' });
      return;
    }
    try {
      const c = await ws.context(`sites:\n  a: { type: fs, path: ./site-a }\n  full: { type: fs, path: ./small/site }\njobs:\n  data:\n    source: { type: files, paths: [./data] }\n    minSites: 1\n`, childEnv);
      const side = sideDaemon(c);
      const r = await run(side.d, c);
      expect(r.committed).toEqual(['a']);
      expect(r.failed[0]).toMatchObject({ site: 'full', permanent: true, error: expect.stringMatching(/no space left on the device/) });
      expect((await readdir(join(small, 'site'), { recursive: true }).catch(() => [])).filter((n) => String(n).includes('tmp'))).toEqual([]);
      expect(await metric('lifeboat_site_up', { site: 'full' }, side.m)).toBe(0);
      expect(await metric('lifeboat_site_errors_total', { site: 'full', operation: 'backup' }, side.m)).toBe(1);
      // Room again: the next run commits on both sites.
      await execFileP('mount', ['-o', 'remount,size=256m', small]);
      const next = await run(side.d, c);
      expect(next.committed).toEqual(['a', 'full']);
      expect(await metric('lifeboat_site_up', { site: 'full' }, side.m)).toBe(1);
      await side.d.stop();
      c.close();
    } finally {
      await execFileP('umount', [small]).catch(() => {});
      await rm(small, { recursive: true, force: true });
    }
    ledger.push({ fault: 'fs site on a 4 MiB tmpfs (fills up)', outcome: 'committed on a; the full site named with "no space left", as permanent; no temp file left; site_up{full}=0, site_errors_total{full}=1; with room again the next run committed on both' });
  }, 60_000);
});
