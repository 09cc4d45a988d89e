/**
 * Database connection settings from a URL (`postgres://user@host:5432/db`,
 * `mysql://user@host:3306/db`) or separate keys. A password never comes from a URL: it is a
 * separate secret reference, so that URLs can be logged and shown.
 */
import type { DbConnection } from '../config/model.ts';
import { LifeboatError } from '../errors.ts';

export type { DbConnection };

const SCHEMES: Record<string, DbConnection['scheme']> = { 'postgres:': 'postgres', 'postgresql:': 'postgres', 'mysql:': 'mysql', 'mariadb:': 'mysql' };
const DEFAULT_PORT = { postgres: 5432, mysql: 3306 } as const;

export function isDbUrl(text: string): boolean {
  return /^(postgres|postgresql|mysql|mariadb):\/\//.test(text);
}

/** Parses a database URL; `what` names it in errors. The password, if any, is refused, not echoed. */
export function parseDbUrl(text: string, what: string): DbConnection {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new LifeboatError('USAGE', `${what} is not a valid database URL (expected e.g. postgres://user@host:5432/db)`);
  }
  const scheme = SCHEMES[u.protocol];
  if (!scheme) throw new LifeboatError('USAGE', `${what}: unsupported URL scheme "${u.protocol}" (expected postgres:// or mysql://)`);
  if (u.password) throw new LifeboatError('USAGE', `${what}: put the password in a separate reference, never in the URL`);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  return {
    scheme,
    host: u.hostname.replace(/^\[|\]$/g, '') || 'localhost',
    port: u.port ? Number(u.port) : DEFAULT_PORT[scheme],
    ...(u.username ? { user: decodeURIComponent(u.username) } : {}),
    ...(database ? { database } : {}),
  };
}

/** The URL form without any password, for messages and manifests. */
export function describeDb(c: DbConnection): string {
  const user = c.user ? `${encodeURIComponent(c.user)}@` : '';
  const host = c.host.includes(':') ? `[${c.host}]` : c.host;
  return `${c.scheme}://${user}${host}:${c.port}/${c.database ? encodeURIComponent(c.database) : ''}`;
}

/** Whether two connections name the same database on the same server. */
export function sameDatabase(a: DbConnection, b: DbConnection): boolean {
  const norm = (h: string): string => (h === 'localhost' || h === '::1' ? '127.0.0.1' : h.toLowerCase());
  return a.scheme === b.scheme && norm(a.host) === norm(b.host) && a.port === b.port && a.database === b.database;
}
