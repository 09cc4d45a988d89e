// Restore drills of directories and SQLite files: checks with observations, slow drills, rotation
// across sites, reports on the sites, a damaged snapshot failing the drill, config mistakes.
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyDrillReports } from '../../src/daemon/drill-state.ts';
import { Metrics } from '../../src/metrics/metrics.ts';
import { backup } from '../../src/operations/backup.ts';
import type { Context } from '../../src/operations/context.ts';
import { drill, drillHistory } from '../../src/operations/drill.ts';
import { workspace, type Workspace } from '../helpers/fixture.ts';
import { execFileP } from '../helpers/streams.ts';

let ws: Workspace;
let ctx: Context;
const bin = join(import.meta.dirname, '..', '..', 'bin', 'lifeboat');

const sites = 'sites:\n  a: { type: fs, path: ./site-a }\n  b: { type: fs, path: ./site-b }\n';
const filesJob = (checks: string, extra = ''): string =>
  `  docs:\n    source: { type: files, paths: [./data] }\n    objectives: { rpo: 1h, rto: 10m }\n${extra}    drill:\n      target: { type: directory }\n      checks:\n${checks}`;

async function scratchDirs(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((n) => n.startsWith('lifeboat-drill-'));
}

beforeAll(async () => {
  ws = await workspace();
  await mkdir(join(ws.dir, 'data', 'invoices'), { recursive: true });
  await writeFile(join(ws.dir, 'data', 'invoices', 'index.json'), '{"invoices": 3}\n');
  await writeFile(join(ws.dir, 'data', 'invoices', 'a.pdf'), 'x'.repeat(2000));
  const db = new DatabaseSync(join(ws.dir, 'app.sqlite'));
  db.exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, created_at TEXT); INSERT INTO orders (created_at) VALUES (datetime('now', '-5 minutes')), (datetime('now', '-1 minute'));");
  db.close();
  ctx = await ws.context(
    `${sites}jobs:\n${filesJob('        - { file: invoices/index.json, minSize: 10 }\n        - { glob: "invoices/*.pdf", minCount: 1 }\n        - { name: tree listed, command: [sh, -c, "test -f invoices/a.pdf"] }\n')}` +
      `  app:\n    source: { type: sqlite, path: ./app.sqlite }\n    drill:\n      target: { type: sqlite }\n      checks:\n        - { name: orders present, sql: "SELECT count(*) FROM orders", expect: { min: 2 } }\n        - { freshness: { table: orders, column: created_at }, within: 10m }\n        - { sql: "SELECT count(*) FROM orders WHERE id > 100", expect: { equals: 5 } }\n`,
  );
  expect((await backup(ctx, 'docs')).ok).toBe(true);
  expect((await backup(ctx, 'app')).ok).toBe(true);
});
afterAll(async () => {
  ctx?.close();
  await ws?.cleanup();
});

describe('drills', () => {
  it('restores a files snapshot into a scratch folder, passes its checks, reports each observation, and removes the folder', async () => {
    const before = await scratchDirs();
    const { report, unwritten } = await drill(ctx, 'docs');
    expect(report.outcome).toBe('passed');
    expect(report.site).toBe('a');
    expect(report.checks.map((c) => [c.name, c.passed, c.observed])).toEqual([
      ['invoices/index.json', true, '16 bytes'],
      ['invoices/*.pdf', true, '1 match'],
      ['tree listed', true, 'exit status 0'],
    ]);
    expect(report.recoveryTimeSeconds).toBeGreaterThan(0);
    expect(report.recoveryTimeSeconds).toBeLessThanOrEqual(report.phases.restoreSeconds + report.phases.checksSeconds + 0.02);
    expect(unwritten).toEqual([]);
    // The report is on both sites, and the scratch folder is gone.
    for (const site of ['site-a', 'site-b']) {
      const body = JSON.parse(await readFile(join(ws.dir, site, 'jobs', 'docs', 'drills', `${report.drillId}.json`), 'utf8')) as { outcome: string };
      expect(body.outcome).toBe('passed');
    }
    expect(await scratchDirs()).toEqual(before);
  });

  it('rotates through the sites, so that every site is proven restorable', async () => {
    const second = await drill(ctx, 'docs');
    const third = await drill(ctx, 'docs');
    expect([second.report.site, third.report.site]).toEqual(['b', 'a']);
    const { reports } = await drillHistory(ctx, 'docs');
    expect(reports.slice(0, 3).map((r) => r.site)).toEqual(['a', 'b', 'a']);
  });

  it('restores SQLite into a temporary file and runs SQL and freshness checks; a failing check fails the drill with what it saw', async () => {
    const { report } = await drill(ctx, 'app');
    expect(report.outcome).toBe('failed');
    expect(report.checks.map((c) => [c.name, c.passed])).toEqual([
      ['orders present', true],
      ['orders.created_at fresh', true],
      ['SELECT count(*) FROM orders WHERE id > 100', false],
    ]);
    expect(report.checks[0]!.observed).toBe('2');
    expect(report.checks[1]!.observed).toMatch(/^newest created_at is .* before the capture time$/);
    expect(report.checks[2]).toMatchObject({ observed: '0', expected: '= 5' });
    // The CLI exits 1 and names the failing check and its observation.
    const cli = await execFileP(process.execPath, [bin, 'drill', 'app', '-c', join(ws.dir, 'lifeboat.yaml')]).catch((e: { code: number; stdout: string }) => e);
    expect((cli as { code: number }).code).toBe(1);
    expect((cli as { stdout: string }).stdout).toMatch(/FAIL SELECT count\(\*\) FROM orders WHERE id > 100: observed 0; expected = 5/);
  });

  it('calls a drill that passed its checks but took longer than the RTO objective "slow"', async () => {
    const c = await ws.context(`${sites}jobs:\n${filesJob('        - { file: invoices/index.json }\n').replace('rto: 10m', 'rto: 1ms')}`);
    const { report } = await drill(c, 'docs');
    expect(report.outcome).toBe('slow');
    expect(report.checks.every((ch) => ch.passed)).toBe(true);
    expect(report.rtoObjectiveSeconds).toBe(0.001);
    c.close();
  });

  it('fails on a snapshot damaged on every site, and the verified recovery point stays where it was', async () => {
    const metrics = new Metrics();
    const verified = async (): Promise<number | undefined> =>
      (await metrics.registry.getSingleMetric('lifeboat_verified_recovery_point_timestamp_seconds')!.get()).values.find((v) => v.labels.backup_job === 'docs')?.value;
    applyDrillReports(metrics, 'docs', (await drillHistory(ctx, 'docs')).reports);
    const before = await verified();
    expect(before).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 1100)); // a new snapshot id second
    const r = await backup(ctx, 'docs');
    for (const site of ['site-a', 'site-b']) {
      const dir = join(ws.dir, site, 'jobs', 'docs', 'snapshots', r.snapshotId!);
      const payload = join(dir, (await readdir(dir)).find((n) => n.startsWith('payload'))!);
      const bytes = await readFile(payload);
      bytes[bytes.length - 100]! ^= 0xff;
      await writeFile(payload, bytes);
    }
    const { report } = await drill(ctx, 'docs');
    expect(report.snapshotId).toBe(r.snapshotId);
    expect(report.outcome).toBe('failed');
    expect(report.error).toMatch(/site|damaged|authentic|hash|SHA-256/i);
    applyDrillReports(metrics, 'docs', (await drillHistory(ctx, 'docs')).reports);
    expect(await verified()).toBe(before);
  });

  it('drills a command job with its own restore command and check commands', async () => {
    const c = await ws.context(
      `${sites}jobs:\n  cache:\n    source: { type: command, dump: [sh, -c, "echo cache-payload-42"] }\n    drill:\n      target: { type: command, restore: [sh, -c, 'cat > "$LIFEBOAT_RESTORE_TARGET"'] }\n      checks:\n        - { name: payload restored, command: [sh, -c, 'grep -q cache-payload-42 "$LIFEBOAT_DRILL_TARGET"'] }\n        - { name: wrong payload, command: [sh, -c, 'echo "no such key" >&2; grep -q other "$LIFEBOAT_DRILL_TARGET"'] }\n`,
    );
    expect((await backup(c, 'cache')).ok).toBe(true);
    const { report } = await drill(c, 'cache');
    expect(report.target.kind).toBe('command');
    expect(report.checks.map((ch) => [ch.name, ch.passed, ch.observed])).toEqual([
      ['payload restored', true, 'exit status 0'],
      ['wrong payload', false, 'exit status 1: no such key'],
    ]);
    expect(report.outcome).toBe('failed');
    c.close();
  });

  it('refuses drill targets and checks that do not suit the source, naming the place in the config', async () => {
    const bad = ws.config(
      `${sites}jobs:\n  app:\n    source: { type: sqlite, path: ./app.sqlite }\n    drill:\n      target: { type: directory }\n` +
        `  db:\n    source: { type: postgres, url: "postgres://u@db.internal:5432/app" }\n    drill:\n      target: { type: postgres, url: "postgres://u@db.internal:5432/app" }\n` +
        `  files:\n    source: { type: files, paths: [./data] }\n    drill:\n      target: { type: directory }\n      checks:\n        - { sql: "SELECT 1", expect: { equals: 1 } }\n        - { file: ../etc/passwd }\n`,
    );
    await expect(bad).rejects.toThrow(/jobs\.app\.drill\.target\.type: a sqlite job's drill restores into a "sqlite" target, not "directory"/);
    await expect(bad).rejects.toThrow(/jobs\.db\.drill\.target\.url: names the job's own source database/);
    await expect(bad).rejects.toThrow(/jobs\.files\.drill\.checks\[0\]: sql checks need a database target/);
    await expect(bad).rejects.toThrow(/jobs\.files\.drill\.checks\[1\]\.file: must be a path inside the restored folder/);
  });
});
