/**
 * Drill checks: each runs on the restored target and reports what it observed, pass or fail, so
 * that a report shows why a drill passed as clearly as why it failed. A check that cannot run (bad
 * SQL, a missing table) fails with the error as its observation; it never stops the other checks.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { glob, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { CheckResult } from '../catalog/drill-report.ts';
import type { Manifest } from '../catalog/manifest.ts';
import type { DrillCheck } from '../config/model.ts';
import { describeError } from '../errors.ts';
import type { Scratch, ScratchDb } from './scratch.ts';

const human = (ms: number): string => (ms < 120_000 ? `${Math.round(ms / 1000)} s` : ms < 7_200_000 ? `${Math.round(ms / 60_000)} min` : `${(ms / 3_600_000).toFixed(1)} h`);

function needDb(s: Scratch): ScratchDb {
  if (!s.db) throw new Error('this check needs a database target');
  return s.db;
}

function sqlCheck(c: Extract<DrillCheck, { kind: 'sql' }>, rows: (string | null)[][]): Omit<CheckResult, 'name' | 'kind'> {
  const e = c.expect;
  const cell = rows[0]?.[0];
  const expected: string[] = [];
  let passed = true;
  if (e.notEmpty !== undefined) {
    expected.push(e.notEmpty ? 'at least one row' : 'no rows');
    passed &&= (rows.length > 0) === e.notEmpty;
  }
  if (e.equals !== undefined) {
    expected.push(`= ${String(e.equals)}`);
    const numeric = typeof e.equals === 'number' || (cell != null && !Number.isNaN(Number(cell)) && !Number.isNaN(Number(e.equals)));
    passed &&= cell != null && (numeric ? Number(cell) === Number(e.equals) : cell === String(e.equals) || (typeof e.equals === 'boolean' && ['t', 'true', '1'].includes(cell) === e.equals));
  }
  if (e.min !== undefined) {
    expected.push(`≥ ${e.min}`);
    passed &&= cell != null && Number(cell) >= e.min;
  }
  if (e.max !== undefined) {
    expected.push(`≤ ${e.max}`);
    passed &&= cell != null && Number(cell) <= e.max;
  }
  const observed = rows.length === 0 ? 'no rows' : `${cell === null ? 'NULL' : String(cell)}${rows.length > 1 ? ` (first of ${rows.length} rows)` : ''}`;
  return { passed, observed, expected: expected.join(' and ') };
}

async function schemaDrift(tolerance: number, db: ScratchDb, manifest: Manifest): Promise<Omit<CheckResult, 'name' | 'kind'>> {
  const expected = `the tables of the source at dump time, row counts within ${Math.round(tolerance * 100)}% (or 100 rows)`;
  const before = manifest.source.tables;
  if (!before) return { passed: false, observed: 'the snapshot records no table list (taken by an older Lifeboat, or with table filters)', expected };
  const after = new Map((await db.tableCounts()).map((t) => [t.name, t.rows ?? 0]));
  const problems: string[] = [];
  for (const t of before) {
    const rows = after.get(t.name);
    if (rows === undefined) problems.push(`${t.name} missing`);
    else if (t.rows !== null && Math.abs(rows - t.rows) > Math.max(100, tolerance * t.rows)) problems.push(`${t.name} has ${rows} rows, the source had about ${t.rows}`);
    after.delete(t.name);
  }
  for (const name of after.keys()) problems.push(`${name} was not in the source`);
  const observed = problems.length === 0 ? `${before.length} tables match` : problems.slice(0, 10).join('; ') + (problems.length > 10 ? `; and ${problems.length - 10} more` : '');
  return { passed: problems.length === 0, observed, expected };
}

async function fileCheck(c: Extract<DrillCheck, { kind: 'file' }>, dir: string): Promise<Omit<CheckResult, 'name' | 'kind'>> {
  const expected = [`${c.file} is a file`, ...(c.minSize !== undefined ? [`of at least ${c.minSize} bytes`] : []), ...(c.sha256 ? [`with SHA-256 ${c.sha256.slice(0, 12)}…`] : [])].join(' ');
  const path = join(dir, c.file);
  const st = await lstat(path).catch(() => undefined);
  if (!st?.isFile()) return { passed: false, observed: st ? `${c.file} is not a regular file` : `${c.file} does not exist`, expected };
  let sha: string | undefined;
  if (c.sha256) {
    const h = createHash('sha256');
    await pipeline(createReadStream(path), h);
    sha = h.digest('hex');
  }
  const passed = (c.minSize === undefined || st.size >= c.minSize) && (c.sha256 === undefined || sha === c.sha256);
  return { passed, observed: `${st.size} bytes${sha ? `, SHA-256 ${sha.slice(0, 12)}…` : ''}`, expected };
}

function commandCheck(c: Extract<DrillCheck, { kind: 'command' }>, s: Scratch, signal: AbortSignal): Promise<Omit<CheckResult, 'name' | 'kind'>> {
  return new Promise((resolve) => {
    execFile(c.argv[0]!, c.argv.slice(1), { env: { ...process.env, ...s.env, ...c.env }, cwd: s.dir, timeout: 600_000, maxBuffer: 4 << 20, signal }, (err, stdout, stderr) => {
      const tail = (String(stderr).trim() || String(stdout).trim()).split('\n').slice(-3).join(' ').slice(0, 500);
      const code = err ? ((err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : `exit status ${(err as { code?: unknown }).code ?? 'unknown'}`) : 'exit status 0';
      resolve({ passed: !err, observed: tail ? `${code}: ${tail}` : code, expected: 'exit status 0' });
    });
  });
}

async function runOne(c: DrillCheck, s: Scratch, manifest: Manifest, signal: AbortSignal): Promise<Omit<CheckResult, 'name' | 'kind'>> {
  switch (c.kind) {
    case 'sql':
      return sqlCheck(c, await needDb(s).rows(c.sql));
    case 'freshness': {
      const db = needDb(s);
      const cell = (await db.rows(db.newestEpochSql(c.table, c.column)))[0]?.[0];
      const expected = `newest ${c.table}.${c.column} at most ${human(c.withinMs)} before the snapshot's capture time`;
      if (cell == null) return { passed: false, observed: `${c.table} has no ${c.column} values`, expected };
      const lag = Date.parse(manifest.createdAt) - Number(cell) * 1000;
      return { passed: lag <= c.withinMs, observed: `newest ${c.column} is ${new Date(Number(cell) * 1000).toISOString()}, ${lag >= 0 ? `${human(lag)} before` : `${human(-lag)} after`} the capture time`, expected };
    }
    case 'schemaDrift':
      return schemaDrift(c.tolerance, needDb(s), manifest);
    case 'file':
      return fileCheck(c, s.dir!);
    case 'glob': {
      let n = 0;
      for await (const _ of glob(c.glob, { cwd: s.dir! })) n++;
      return { passed: n >= c.minCount, observed: `${n} match${n === 1 ? '' : 'es'}`, expected: `at least ${c.minCount}` };
    }
    case 'command':
      return commandCheck(c, s, signal);
  }
}

export async function runChecks(checks: readonly DrillCheck[], s: Scratch, manifest: Manifest, signal: AbortSignal): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const c of checks) {
    if (signal.aborted) break;
    try {
      results.push({ name: c.name, kind: c.kind, ...(await runOne(c, s, manifest, signal)) });
    } catch (err) {
      results.push({ name: c.name, kind: c.kind, passed: false, observed: `could not run: ${describeError(err)}`, expected: '' });
    }
  }
  return results;
}
