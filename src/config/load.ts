/**
 * Loading `lifeboat.yaml`: parse (keeping node positions), resolve references, validate the shape,
 * check the rules that span several keys, and build the resolved model. Every problem found is
 * collected and reported together, each as `FILE:LINE:COL path: message`.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { parseRecipient, parseRecipientsFile, type Recipient } from '../crypto/keys.ts';
import { LifeboatError, describeError, fileErrorReason } from '../errors.ts';
import { parseDuration } from './duration.ts';
import { buildDrill } from './drill.ts';
import { buildSigning } from './signing.ts';
import { Collector, checkCron, checkTimezone, type ConfigIssue } from './collector.ts';
import { nearest, type PathSegment } from './locate.ts';
import { checkFilesPaths, checkSitesOutsideSources } from './files-paths.ts';
import { checkSiteLocations } from './site-locations.ts';
import type { Config, DbConnection, JobConfig, SiteConfig, SourceConfig } from './model.ts';
import { parseDbUrl } from '../sources/db-url.ts';
import { SECRET_KEYS, configSchema, type RawConfig, type RawJob, type RawSite, type RawSource } from './schema.ts';
import { hasReference, isWholeReference, resolveReferences } from './references.ts';
import { allowedKeys } from './shape.ts';

export type { ConfigIssue };

export function formatIssue(i: ConfigIssue): string {
  const where = i.line === undefined ? i.file : `${i.file}:${i.line}:${i.col}`;
  return `${where} ${i.path}: ${i.message}`;
}

export class ConfigError extends LifeboatError {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    super('CONFIG_INVALID', issues.map(formatIssue).join('\n'));
    this.issues = issues;
  }
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
}

export async function loadConfig(file: string, opts: LoadOptions = {}): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ file, path: '(file)', message: `cannot read the config file: ${fileErrorReason(err)}` }]);
  }
  return parseConfig(text, file, opts);
}

/** Parses config text; `file` is used for messages and to resolve relative paths. */
export function parseConfig(text: string, file: string, opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const baseDir = dirname(resolve(file));
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const c = new Collector(file, doc, lines);

  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const pos = lines.linePos(e.pos[0]);
      const message =
        e.code === 'DUPLICATE_KEY'
          ? `duplicate key ${JSON.stringify(text.slice(e.pos[0], e.pos[1]).trim())}: each name may appear only once`
          : `YAML syntax error: ${e.message.split('\n')[0]}`;
      c.issues.push({ file, line: pos.line, col: pos.col, path: '(yaml)', message });
    }
    throw new ConfigError(c.issues);
  }
  let raw: unknown;
  try {
    // Throws for aliases without an anchor, and for alias bombs (more than maxAliasCount expansions).
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError([{ file, line: 1, col: 1, path: '(yaml)', message: `YAML error: ${(err as Error).message.split('\n')[0]}` }]);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError([{ file, line: 1, col: 1, path: '(top level)', message: 'the config must be a YAML mapping' }]);
  }

  const resolved = resolveAll(raw, [], c, env, baseDir);
  // Parsed once per process: zod's eval-compiled fast path would cost more to build (~5 ms of
  // every command's start-up, measured) than it saves on a single parse.
  const parsed = configSchema.safeParse(resolved, { jitless: true });
  if (!parsed.success) {
    reportZodIssues(parsed.error.issues, resolved, c);
    throw new ConfigError(c.issues);
  }
  const config = buildModel(parsed.data, file, baseDir, c);
  if (c.issues.length > 0) throw new ConfigError(c.issues);
  return config;
}

/** Replaces references in every string; secret keys must be a reference and nothing else. */
function resolveAll(value: unknown, path: PathSegment[], c: Collector, env: NodeJS.ProcessEnv, baseDir: string): unknown {
  if (typeof value === 'string') {
    const key = path[path.length - 1];
    if (typeof key === 'string' && SECRET_KEYS.has(key) && !isWholeReference(value)) {
      c.add(path, 'a secret must be a ${env:NAME} or ${file:PATH} reference, never the secret itself');
      return value;
    }
    if (!hasReference(value)) return value;
    const r = resolveReferences(value, env, baseDir);
    if (!r.ok) c.unresolvable(path, r.message);
    return r.ok ? r.value : value;
  }
  if (Array.isArray(value)) return value.map((v, i) => resolveAll(v, [...path, i], c, env, baseDir));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveAll(v, [...path, k], c, env, baseDir)]));
  }
  return value;
}

function reportZodIssues(issues: readonly z.core.$ZodIssue[], raw: unknown, c: Collector): void {
  for (const issue of issues) {
    const path = issue.path.filter((p): p is PathSegment => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeys(path, raw);
      for (const key of issue.keys) {
        const guess = nearest(key, allowed);
        const hint = guess ? ` (did you mean "${guess}"?)` : allowed.length ? ` (valid keys: ${allowed.join(', ')})` : '';
        c.add([...path, key], `unknown key "${key}"${hint}`, true);
      }
    } else if (issue.code === 'invalid_type' && valueAt(raw, path) === undefined) {
      c.add(path.slice(0, -1), `missing required key "${String(path[path.length - 1])}"`);
    } else if (issue.code === 'invalid_key') {
      c.add(path, `invalid name: ${issue.issues[0]?.message ?? issue.message}`, true);
    } else {
      c.add(path, issue.message);
    }
  }
}

function valueAt(doc: unknown, path: readonly PathSegment[]): unknown {
  let v = doc;
  for (const seg of path) v = v !== null && typeof v === 'object' ? (v as Record<PathSegment, unknown>)[seg] : undefined;
  return v;
}

function buildRecipients(cfg: RawConfig, baseDir: string, c: Collector): Recipient[] {
  const out: Recipient[] = [];
  const seen = new Set<string>();
  (cfg.encryption.recipients ?? []).forEach((text, i) => {
    try {
      const r = parseRecipient(text);
      if (seen.has(r.text)) c.add(['encryption', 'recipients', i], 'duplicate recipient');
      seen.add(r.text);
      out.push(r);
    } catch (err) {
      c.add(['encryption', 'recipients', i], describeError(err));
    }
  });
  if (cfg.encryption.recipientsFile !== undefined) {
    const path = resolve(baseDir, cfg.encryption.recipientsFile);
    const r = resolveReferences(`\${file:${path}}`, {}, baseDir);
    if (!r.ok) c.add(['encryption', 'recipientsFile'], r.message.replace('secret file', 'recipients file'));
    else {
      try {
        const list = parseRecipientsFile(r.value, path);
        if (list.length === 0) c.add(['encryption', 'recipientsFile'], `${path} holds no age recipient`);
        for (const rec of list) {
          if (seen.has(rec.text)) continue;
          seen.add(rec.text);
          out.push(rec);
        }
      } catch (err) {
        c.add(['encryption', 'recipientsFile'], describeError(err));
      }
    }
  }
  return out;
}

function buildSite(name: string, s: RawSite, baseDir: string): SiteConfig {
  if (s.type === 'fs') return { name, type: 'fs', path: resolve(baseDir, s.path), ...(s.maxUploads === undefined ? {} : { maxUploads: s.maxUploads }) };
  const { partSizeMiB, caFile, requestTimeout, ...rest } = s;
  return {
    ...rest,
    requestTimeoutMs: parseDuration(requestTimeout),
    name,
    prefix: s.prefix === '' || s.prefix.endsWith('/') ? s.prefix : `${s.prefix}/`,
    partSizeBytes: partSizeMiB * 1024 * 1024,
    ...(caFile === undefined ? {} : { caFile: resolve(baseDir, caFile) }),
  };
}

function buildSource(s: RawSource, baseDir: string, path: PathSegment[], c: Collector): SourceConfig | undefined {
  if (s.type === 'files') {
    const paths = s.paths.map((p) => resolve(baseDir, p));
    checkFilesPaths(s.paths, paths, path, c);
    return {
      type: 'files',
      paths,
      include: s.include ?? [],
      exclude: s.exclude ?? [],
      onUnreadable: s.onUnreadable,
    };
  }
  if (s.type === 'sqlite') return { type: 'sqlite', path: resolve(baseDir, s.path) };
  if (s.type === 'command') {
    return {
      type: 'command',
      dump: s.dump,
      ...(s.restore ? { restore: s.restore } : {}),
      env: s.env ?? {},
      ...(s.cwd === undefined ? {} : { cwd: resolve(baseDir, s.cwd) }),
    };
  }
  if (s.type === 'mysql') {
    const connection = buildConnection({ ...s, ...(s.databases && !s.url && !s.database ? { database: s.databases[0] } : {}) }, 'mysql', path, c);
    if (!connection) return undefined;
    return { type: 'mysql', connection, databases: s.databases ?? [connection.database!] };
  }
  const connection = buildConnection(s, 'postgres', path, c);
  if (!connection) return undefined;
  return {
    type: 'postgres',
    connection,
    schemas: s.schemas ?? [],
    excludeSchemas: s.excludeSchemas ?? [],
    tables: s.tables ?? [],
    excludeTables: s.excludeTables ?? [],
    globals: s.globals,
    ...(s.binDir === undefined ? {} : { binDir: resolve(baseDir, s.binDir) }),
  };
}

/** A database connection from `url` and/or separate keys; separate keys override the URL's parts. */
function buildConnection(
  s: { url?: string | undefined; host?: string | undefined; port?: number | undefined; user?: string | undefined; database?: string | undefined; password?: string | undefined },
  scheme: DbConnection['scheme'],
  path: PathSegment[],
  c: Collector,
): DbConnection | undefined {
  let base: DbConnection = { scheme, host: 'localhost', port: scheme === 'postgres' ? 5432 : 3306 };
  if (s.url !== undefined) {
    try {
      base = parseDbUrl(s.url, 'the url');
    } catch (err) {
      c.add([...path, 'url'], describeError(err));
      return undefined;
    }
    if (base.scheme !== scheme) {
      c.add([...path, 'url'], `a ${scheme} source needs a ${scheme}:// URL`);
      return undefined;
    }
  } else if (s.host === undefined) {
    c.add(path, 'needs a "url" or a "host"');
    return undefined;
  }
  const conn: DbConnection = {
    ...base,
    ...(s.host !== undefined ? { host: s.host } : {}),
    ...(s.port !== undefined ? { port: s.port } : {}),
    ...(s.user !== undefined ? { user: s.user } : {}),
    ...(s.database !== undefined ? { database: s.database } : {}),
    ...(s.password !== undefined ? { password: s.password } : {}),
  };
  if (conn.database === undefined) c.add(path, 'needs a database: in the url (…/dbname) or as "database"');
  return conn;
}

function buildJob(name: string, raw: RawJob, cfg: RawConfig, baseDir: string, c: Collector): JobConfig | undefined {
  const d = cfg.defaults ?? {};
  const path = ['jobs', name];
  // A job's key replaces the same key under `defaults` as a whole (no deep merge).
  const merged = { ...d, ...raw };
  const where = (key: keyof RawJob): PathSegment[] => (raw[key] !== undefined ? [...path, key] : ['defaults', key]);
  if (!raw.source) {
    c.add(path, 'missing required key "source"');
    return undefined;
  }
  const sites = merged.sites ?? Object.keys(cfg.sites);
  sites.forEach((s, i) => {
    if (!(s in cfg.sites)) {
      const guess = nearest(s, Object.keys(cfg.sites));
      c.add([...where('sites'), i], `unknown site "${s}"${guess ? ` (did you mean "${guess}"?)` : ` (sites: ${Object.keys(cfg.sites).join(', ')})`}`);
    }
    if (sites.indexOf(s) !== i) c.add([...where('sites'), i], `site "${s}" is listed twice`);
  });
  const minSites = merged.minSites ?? sites.length;
  if (minSites > sites.length) c.add(where('minSites'), `minSites is ${minSites} but the job has only ${sites.length} site(s)`);
  // Defaults' schedule and timezone are checked once, in buildModel.
  if (raw.schedule !== undefined) checkCron(raw.schedule, [...path, 'schedule'], c);
  if (raw.timezone !== undefined) checkTimezone(raw.timezone, [...path, 'timezone'], c);
  if (merged.verify) checkCron(merged.verify.schedule, [...where('verify'), 'schedule'], c);
  const source = buildSource(raw.source, baseDir, [...path, 'source'], c);
  if (!source) return undefined;
  const drill = raw.drill === undefined ? undefined : buildDrill(raw.drill, source, sites, baseDir, [...path, 'drill'], c);
  return {
    name,
    source,
    sites,
    minSites,
    schedule: merged.schedule,
    timezone: merged.timezone,
    compressionLevel: merged.compression?.level ?? 3,
    compressionThreads: merged.compression?.threads ?? 'auto',
    retention: merged.retention,
    objectives: {
      rpoMs: merged.objectives?.rpo === undefined ? undefined : parseDuration(merged.objectives.rpo),
      rtoMs: merged.objectives?.rto === undefined ? undefined : parseDuration(merged.objectives.rto),
    },
    timeoutMs: merged.timeout === undefined ? undefined : parseDuration(merged.timeout),
    notify: merged.notify ?? [],
    ...(drill ? { drill } : {}),
    ...(merged.verify ? { verify: merged.verify } : {}),
  };
}

function buildModel(cfg: RawConfig, file: string, baseDir: string, c: Collector): Config {
  const recipients = buildRecipients(cfg, baseDir, c);
  const sites = new Map<string, SiteConfig>();
  for (const [name, raw] of Object.entries(cfg.sites)) sites.set(name, buildSite(name, raw, baseDir));
  checkSiteLocations(sites, c);
  if (cfg.defaults?.schedule !== undefined) checkCron(cfg.defaults.schedule, ['defaults', 'schedule'], c);
  if (cfg.defaults?.timezone !== undefined) checkTimezone(cfg.defaults.timezone, ['defaults', 'timezone'], c);
  const jobs = new Map<string, JobConfig>();
  for (const [name, raw] of Object.entries(cfg.jobs)) {
    const job = buildJob(name, raw, cfg, baseDir, c);
    if (job) jobs.set(name, job);
    if (job?.source.type === 'files' && raw.source.type === 'files') checkSitesOutsideSources(name, job.source, raw.source.paths, sites, c);
  }
  const identityFile = cfg.encryption.identityFile === undefined ? undefined : resolve(baseDir, cfg.encryption.identityFile);
  return {
    file,
    encryption: { recipients, ...(identityFile === undefined ? {} : { identityFile }) },
    signing: buildSigning(cfg.signing, baseDir, c),
    sites,
    jobs,
    api: { listen: cfg.api?.listen ?? '127.0.0.1:9464', tokens: cfg.api?.tokens ?? [], openMetrics: cfg.api?.openMetrics ?? true },
    daemon: {
      shutdownGraceMs: parseDuration(cfg.daemon?.shutdownGrace ?? '30s'),
      concurrency: cfg.daemon?.concurrency ?? 1,
      retries: cfg.daemon?.retries ?? 3,
      retryDelayMs: parseDuration(cfg.daemon?.retryDelay ?? '1m'),
      leaseTtlMs: parseDuration(cfg.daemon?.leaseTtl ?? '2m'),
    },
  };
}
