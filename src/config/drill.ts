/**
 * A job's `drill` section: the scratch target must suit the job's source (a PostgreSQL dump restores
 * into PostgreSQL, a files snapshot into a directory), checks must suit the target, and a scratch
 * server must not be the job's own source database.
 */
import { resolve } from 'node:path';
import type { z } from 'zod';
import { describeError } from '../errors.ts';
import { parseDbUrl, sameDatabase } from '../sources/db-url.ts';
import { checkCron, type Collector } from './collector.ts';
import { parseDuration } from './duration.ts';
import type { PathSegment } from './locate.ts';
import type { DbConnection, DrillCheck, DrillConfig, DrillTarget, SourceConfig } from './model.ts';
import type { drillCheckSchema, drillSchema } from './schema.ts';

type RawDrill = z.infer<typeof drillSchema>;
type RawCheck = z.infer<typeof drillCheckSchema>;

/** The drill target type each source restores into. */
const TARGET_FOR: Record<SourceConfig['type'], DrillTarget['type']> = {
  postgres: 'postgres',
  mysql: 'mysql',
  sqlite: 'sqlite',
  files: 'directory',
  command: 'command',
};

const DATABASE_TARGETS = new Set<DrillTarget['type']>(['postgres', 'mysql', 'sqlite']);

function connection(url: string, password: string | undefined, scheme: 'postgres' | 'mysql', path: PathSegment[], c: Collector): DbConnection | undefined {
  try {
    const conn = parseDbUrl(url, 'the drill target url');
    if (conn.scheme !== scheme) {
      c.add([...path, 'url'], `a ${scheme} drill target needs a ${scheme}:// URL`);
      return undefined;
    }
    return { ...conn, ...(password === undefined ? {} : { password }) };
  } catch (err) {
    c.add([...path, 'url'], describeError(err));
    return undefined;
  }
}

function buildTarget(raw: RawDrill['target'], source: SourceConfig, baseDir: string, path: PathSegment[], c: Collector): DrillTarget | undefined {
  if (TARGET_FOR[source.type] !== raw.type) {
    c.add([...path, 'type'], `a ${source.type} job's drill restores into a "${TARGET_FOR[source.type]}" target, not "${raw.type}"`);
    return undefined;
  }
  if (raw.type === 'postgres') {
    if (raw.ephemeral === (raw.url !== undefined)) {
      c.add(path, raw.ephemeral ? 'set either "url" or "ephemeral: true", not both' : 'needs "url" (a server for a scratch database) or "ephemeral: true" (a throwaway cluster)');
      return undefined;
    }
    const conn = raw.url === undefined ? undefined : connection(raw.url, raw.password, 'postgres', path, c);
    if (raw.url !== undefined && !conn) return undefined;
    if (conn?.database !== undefined && source.type === 'postgres' && sameDatabase(conn, source.connection)) {
      c.add([...path, 'url'], 'names the job\'s own source database: drills restore into a scratch database; point "url" at a scratch server or its "postgres" database');
      return undefined;
    }
    return { type: 'postgres', ephemeral: raw.ephemeral, ...(conn ? { connection: conn } : {}), ...(raw.binDir ? { binDir: resolve(baseDir, raw.binDir) } : {}) };
  }
  if (raw.type === 'mysql') {
    const conn = connection(raw.url, raw.password, 'mysql', path, c);
    if (!conn) return undefined;
    if (conn.database !== undefined && source.type === 'mysql' && source.databases.some((db) => sameDatabase(conn, { ...source.connection, database: db }))) {
      c.add([...path, 'url'], "names the job's own source database: drills restore into a scratch database on a scratch server");
      return undefined;
    }
    return { type: 'mysql', connection: conn };
  }
  if (raw.type === 'command') return { type: 'command', ...(raw.restore ? { restore: raw.restore } : {}), env: raw.env ?? {} };
  return { type: raw.type };
}

function buildCheck(raw: RawCheck, target: DrillTarget, path: PathSegment[], c: Collector): DrillCheck | undefined {
  const database = DATABASE_TARGETS.has(target.type);
  const needs = (ok: boolean, what: string): boolean => {
    if (!ok) c.add(path, `${what} checks need a database target (postgres, mysql or sqlite), not "${target.type}"`);
    return ok;
  };
  if ('sql' in raw) return needs(database, 'sql') ? { kind: 'sql', name: raw.name ?? raw.sql, sql: raw.sql, expect: raw.expect } : undefined;
  if ('freshness' in raw) {
    if (!needs(database, 'freshness')) return undefined;
    return { kind: 'freshness', name: raw.name ?? `${raw.freshness.table}.${raw.freshness.column} fresh`, ...raw.freshness, withinMs: parseDuration(raw.within) };
  }
  if ('schemaDrift' in raw) {
    if (!needs(target.type === 'postgres' || target.type === 'mysql', 'schemaDrift')) return undefined;
    return { kind: 'schemaDrift', name: raw.name ?? 'schema drift', tolerance: raw.schemaDrift.tolerance };
  }
  if ('file' in raw || 'glob' in raw) {
    if (target.type !== 'directory') {
      c.add(path, `file and glob checks need a directory target, not "${target.type}"`);
      return undefined;
    }
    if ('file' in raw) {
      if (raw.file.startsWith('/') || raw.file.split('/').includes('..')) {
        c.add([...path, 'file'], 'must be a path inside the restored folder (no leading "/", no "..")');
        return undefined;
      }
      return { kind: 'file', name: raw.name ?? raw.file, file: raw.file, ...(raw.sha256 ? { sha256: raw.sha256 } : {}), ...(raw.minSize !== undefined ? { minSize: raw.minSize } : {}) };
    }
    return { kind: 'glob', name: raw.name ?? raw.glob, glob: raw.glob, minCount: raw.minCount };
  }
  return { kind: 'command', name: raw.name ?? raw.command.join(' '), argv: raw.command, env: raw.env ?? {} };
}

export function buildDrill(raw: RawDrill, source: SourceConfig, sites: readonly string[], baseDir: string, path: PathSegment[], c: Collector): DrillConfig | undefined {
  if (raw.schedule !== undefined) checkCron(raw.schedule, [...path, 'schedule'], c);
  if (raw.site !== 'rotate' && !sites.includes(raw.site)) c.add([...path, 'site'], `must be "rotate" or one of the job's sites (${sites.join(', ')})`);
  const target = buildTarget(raw.target, source, baseDir, [...path, 'target'], c);
  if (!target) return undefined;
  const checks = raw.checks.map((ch, i) => buildCheck(ch, target, [...path, 'checks', i], c));
  if (checks.some((ch) => ch === undefined)) return undefined;
  return {
    ...(raw.schedule !== undefined ? { schedule: raw.schedule } : {}),
    target,
    checks: checks as DrillCheck[],
    site: raw.site,
    ...(raw.timeout !== undefined ? { timeoutMs: parseDuration(raw.timeout) } : {}),
  };
}
