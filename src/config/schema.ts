/**
 * The shape of `lifeboat.yaml`, as zod schemas over the parsed YAML (after `${env:}`/`${file:}`
 * references are resolved). Every object is strict: an unknown key is an error, because a typo
 * must never be silently ignored. Names may grow; they never change (a user-facing contract).
 *
 * Cross-field rules (a job naming an unknown site, minSites larger than the site list, paths) are
 * checked in load.ts, where the whole document is known.
 */
import * as z from 'zod';

const name = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, { error: 'must be 1-63 characters of a-z, 0-9, "-" or "_", starting with a letter or digit' });

const nonEmpty = z.string().min(1, { error: 'must not be empty' });

const duration = z.string().regex(/^\d+(\.\d+)?(ms|s|m|h|d|w)$/, { error: 'must be a duration such as 90s, 15m, 6h or 7d' });

/** Backups that the daemon lets upload to one site at the same time (default: no limit of its own). */
const maxUploads = z.int().min(1).max(64).optional();

export const fsSiteSchema = z.strictObject({
  type: z.literal('fs'),
  path: nonEmpty,
  maxUploads,
});

export const s3SiteSchema = z.strictObject({
  type: z.literal('s3'),
  endpoint: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    // Credentials in the URL would be a secret written inline, outside the references.
    .refine((u) => !/^[a-z]+:\/\/[^/?#]*@/i.test(u), 'must not hold a user name or password: give the credentials as accessKeyId and secretAccessKey (${env:…} or ${file:…} references)')
    .optional(),
  region: nonEmpty.default('us-east-1'),
  bucket: nonEmpty,
  prefix: z.string().default(''),
  forcePathStyle: z.boolean().default(false),
  accessKeyId: nonEmpty.optional(),
  secretAccessKey: nonEmpty.optional(),
  sessionToken: nonEmpty.optional(),
  storageClass: nonEmpty.optional(),
  caFile: nonEmpty.optional(),
  /** Multipart part size in MiB: memory per upload is partSize × queueSize. */
  partSizeMiB: z.int().min(5).max(5120).default(16),
  queueSize: z.int().min(1).max(16).default(2),
  maxUploads,
  /** A request that receives nothing for this long fails (a gateway that hangs), and is retried. */
  requestTimeout: duration.default('60s'),
  objectLock: z
    .strictObject({
      mode: z.enum(['GOVERNANCE', 'COMPLIANCE']),
      days: z.int().min(1),
    })
    .optional(),
});

export const siteSchema = z.discriminatedUnion('type', [fsSiteSchema, s3SiteSchema], {
  error: (iss) => (iss.code === 'invalid_union' ? 'unknown site type (expected "fs" or "s3")' : undefined),
});

export const filesSourceSchema = z.strictObject({
  type: z.literal('files'),
  paths: z.array(nonEmpty).min(1, { error: 'needs at least one path' }),
  include: z.array(nonEmpty).optional(),
  exclude: z.array(nonEmpty).optional(),
  onUnreadable: z.enum(['fail', 'skip']).default('fail'),
});

/** Connection keys shared by database sources: a `url`, or the same parts as separate keys. */
const dbConnection = {
  url: nonEmpty.optional(),
  host: nonEmpty.optional(),
  port: z.int().min(1).max(65535).optional(),
  user: nonEmpty.optional(),
  database: nonEmpty.optional(),
  password: nonEmpty.optional(),
};

export const postgresSourceSchema = z.strictObject({
  type: z.literal('postgres'),
  ...dbConnection,
  schemas: z.array(nonEmpty).optional(),
  excludeSchemas: z.array(nonEmpty).optional(),
  tables: z.array(nonEmpty).optional(),
  excludeTables: z.array(nonEmpty).optional(),
  /** Also store roles and tablespaces (pg_dumpall --globals-only) as a second part. */
  globals: z.boolean().default(false),
  /** Folder with pg_dump/pg_restore/psql, when the ones on PATH are too old. */
  binDir: nonEmpty.optional(),
});

export const mysqlSourceSchema = z.strictObject({
  type: z.literal('mysql'),
  ...dbConnection,
  /** Databases to dump; default: the one the url or `database` names. */
  databases: z.array(nonEmpty).min(1).optional(),
});

export const sqliteSourceSchema = z.strictObject({
  type: z.literal('sqlite'),
  path: nonEmpty,
});

const argv = z.array(z.string()).min(1, { error: 'needs a command: a list such as ["redis-cli", "--rdb", "-"]' });
export const commandSourceSchema = z.strictObject({
  type: z.literal('command'),
  dump: argv,
  restore: argv.optional(),
  env: z.record(z.string(), z.string()).optional(),
  cwd: nonEmpty.optional(),
});

export const sourceSchema = z.discriminatedUnion('type', [filesSourceSchema, postgresSourceSchema, mysqlSourceSchema, sqliteSourceSchema, commandSourceSchema], {
  error: (iss) => (iss.code === 'invalid_union' ? 'unknown source type (expected "files", "postgres", "mysql", "sqlite" or "command")' : undefined),
});


const count = z.int().min(0);
export const retentionSchema = z.strictObject({
  keepLast: count.optional(),
  keepHourly: count.optional(),
  keepDaily: count.optional(),
  keepWeekly: count.optional(),
  keepMonthly: count.optional(),
  keepYearly: count.optional(),
});

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });
const notifyOn = z.array(z.enum(['success', 'failure'])).min(1).default(['success', 'failure']);
/**
 * Notifications for people without Prometheus. `ping`: a healthchecks-style URL, requested with GET
 * on success and with "/fail" appended on failure. `webhook`: a JSON POST of the event.
 */
export const notifySchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('ping'), url: httpUrl, on: notifyOn }),
    z.strictObject({ type: z.literal('webhook'), url: httpUrl, on: notifyOn, headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/, { error: 'must be an HTTP header name' }), z.string()).optional() }),
  ],
  { error: (iss) => (iss.code === 'invalid_union' ? 'unknown notification type (expected "ping" or "webhook")' : undefined) },
);

/** Where a drill restores: a scratch database, file or folder that it creates and removes. */
export const drillTargetSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({
      type: z.literal('postgres'),
      /** A server where a scratch database is created and dropped. */
      url: nonEmpty.optional(),
      password: nonEmpty.optional(),
      /** A throwaway cluster (initdb + pg_ctl) instead of a server. */
      ephemeral: z.boolean().default(false),
      binDir: nonEmpty.optional(),
    }),
    z.strictObject({ type: z.literal('mysql'), url: nonEmpty, password: nonEmpty.optional() }),
    z.strictObject({ type: z.literal('sqlite') }),
    z.strictObject({ type: z.literal('directory') }),
    z.strictObject({ type: z.literal('command'), restore: argv.optional(), env: z.record(z.string(), z.string()).optional() }),
  ],
  { error: (iss) => (iss.code === 'invalid_union' ? 'unknown drill target type (expected "postgres", "mysql", "sqlite", "directory" or "command")' : undefined) },
);

const checkName = { name: nonEmpty.optional() };
export const drillCheckSchema = z.union(
  [
    z.strictObject({
      ...checkName,
      sql: nonEmpty,
      expect: z
        .strictObject({ equals: z.union([z.string(), z.number(), z.boolean()]).optional(), min: z.number().optional(), max: z.number().optional(), notEmpty: z.boolean().optional() })
        .refine((e) => Object.keys(e).length > 0, { error: 'needs one of equals, min, max or notEmpty' }),
    }),
    z.strictObject({ ...checkName, freshness: z.strictObject({ table: nonEmpty, column: nonEmpty }), within: duration }),
    z.strictObject({ ...checkName, schemaDrift: z.strictObject({ tolerance: z.number().min(0).max(1).default(0.1) }) }),
    z.strictObject({ ...checkName, file: nonEmpty, sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(), minSize: z.int().min(0).optional() }),
    z.strictObject({ ...checkName, glob: nonEmpty, minCount: z.int().min(0).default(1) }),
    z.strictObject({ ...checkName, command: argv, env: z.record(z.string(), z.string()).optional() }),
  ],
  { error: (iss) => (iss.code === 'invalid_union' ? 'a check is one of: { sql, expect }, { freshness, within }, { schemaDrift }, { file }, { glob, minCount } or { command }' : undefined) },
);

export const drillSchema = z.strictObject({
  schedule: nonEmpty.optional(),
  target: drillTargetSchema,
  checks: z.array(drillCheckSchema).default([]),
  /** `rotate`: each drill uses the next site in turn; or the name of one site. */
  site: nonEmpty.default('rotate'),
  snapshot: z.literal('latest', { error: 'only "latest" is supported: drills prove the newest snapshot' }).default('latest'),
  timeout: duration.optional(),
});

/** Every job key except `source` may also be set under `defaults`. */
const jobSettings = {
  sites: z.array(name).min(1, { error: 'needs at least one site' }),
  minSites: z.int().min(1),
  schedule: nonEmpty,
  timezone: nonEmpty,
  compression: z.strictObject({
    level: z.int().min(1).max(19).default(3),
    /** Frames compressed at once; `auto` adapts to the source (pipeline/zstd/compress.ts). */
    threads: z.union([z.literal('auto'), z.int().min(1).max(64)]).default('auto'),
  }),
  retention: retentionSchema,
  objectives: z.strictObject({ rpo: duration.optional(), rto: duration.optional() }),
  timeout: duration,
  notify: z.array(notifySchema),
  /** Scheduled `verify` in the daemon: every copy checked against its manifest (deep: decrypted too). */
  verify: z.strictObject({ schedule: nonEmpty, deep: z.boolean().default(false) }),
};

export const defaultsSchema = z.strictObject(jobSettings).partial();
export const jobSchema = z.strictObject({ source: sourceSchema, drill: drillSchema.optional(), ...jobSettings }).partial({
  sites: true,
  minSites: true,
  schedule: true,
  timezone: true,
  compression: true,
  retention: true,
  objectives: true,
  timeout: true,
  notify: true,
  verify: true,
});

export const encryptionSchema = z
  .strictObject({
    recipients: z.array(nonEmpty).optional(),
    recipientsFile: nonEmpty.optional(),
    identityFile: nonEmpty.optional(),
  })
  .refine((e) => (e.recipients?.length ?? 0) > 0 || e.recipientsFile !== undefined, {
    error: 'needs "recipients" or "recipientsFile": backups are encrypted to age recipients',
  });

export const apiSchema = z.strictObject({
  listen: nonEmpty.regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, { error: 'must be HOST:PORT, e.g. 127.0.0.1:9464' }).default('127.0.0.1:9464'),
  /** Bearer tokens, stored as the SHA-256 of the token (hex), never the token itself. */
  tokens: z
    .array(
      z.strictObject({
        name: name,
        role: z.enum(['viewer', 'operator']),
        sha256: z.string().regex(/^[0-9a-f]{64}$/, { error: 'must be the hex SHA-256 of the token (64 characters 0-9a-f), e.g. from `printf %s TOKEN | sha256sum`' }),
      }),
    )
    .default([]),
  /** /metrics and /healthz without a token (default true); /readyz is always open. */
  openMetrics: z.boolean().default(true),
});

export const daemonSchema = z.strictObject({
  /** How long running jobs may finish after SIGTERM before they are aborted. */
  shutdownGrace: duration.default('30s'),
  /** Jobs that may run at the same time. */
  concurrency: z.int().min(1).max(64).default(1),
  /** Retries of a backup that failed for a passing reason (a site unreachable, a reset connection). */
  retries: z.int().min(0).max(20).default(3),
  /** Delay before the first retry; each further one doubles it, with jitter, up to 1h. */
  retryDelay: duration.default('1m'),
  /** How long a job's lease lasts unless renewed: a dead daemon's jobs are taken over after it. */
  leaseTtl: duration.default('2m'),
});

export const signingSchema = z.strictObject({
  /** PKCS#8 PEM Ed25519 private key: signs manifests and drill reports. */
  keyFile: nonEmpty.optional(),
  /** Public keys (ed25519:…) whose signature every manifest and report must carry. */
  publicKeys: z.array(nonEmpty).default([]),
});

export const configSchema = z.strictObject({
  encryption: encryptionSchema,
  signing: signingSchema.optional(),
  api: apiSchema.optional(),
  daemon: daemonSchema.optional(),
  sites: z.record(name, siteSchema).refine((s) => Object.keys(s).length > 0, { error: 'needs at least one site' }),
  defaults: defaultsSchema.optional(),
  jobs: z.record(name, jobSchema).refine((j) => Object.keys(j).length > 0, { error: 'needs at least one job' }),
});

export type RawConfig = z.infer<typeof configSchema>;
export type RawSite = z.infer<typeof siteSchema>;
export type RawSource = z.infer<typeof sourceSchema>;
export type RawJob = z.infer<typeof jobSchema>;

/** Keys whose values are secrets: they must be references, and are never logged. */
export const SECRET_KEYS = new Set(['secretAccessKey', 'sessionToken', 'password']);
