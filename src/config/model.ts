/**
 * The validated configuration that the rest of Lifeboat reads. Everything here is resolved:
 * references replaced by their values, relative paths made absolute, defaults merged into jobs,
 * durations in milliseconds. Nothing below `config/` ever looks at YAML.
 */
import type { Recipient } from '../crypto/keys.ts';
import type { SigningConfig } from './signing.ts';

export interface FsSiteConfig {
  readonly name: string;
  readonly type: 'fs';
  readonly path: string;
  /** Backups the daemon lets upload to this site at the same time; undefined: no limit of its own. */
  readonly maxUploads?: number;
}

export interface S3SiteConfig {
  readonly name: string;
  readonly type: 's3';
  readonly endpoint?: string;
  readonly region: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly forcePathStyle: boolean;
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  readonly sessionToken?: string;
  readonly storageClass?: string;
  readonly caFile?: string;
  readonly partSizeBytes: number;
  readonly queueSize: number;
  readonly maxUploads?: number;
  /** Milliseconds without an answer before a request fails (and is retried). */
  readonly requestTimeoutMs: number;
  readonly objectLock?: { readonly mode: 'GOVERNANCE' | 'COMPLIANCE'; readonly days: number };
}

export type SiteConfig = FsSiteConfig | S3SiteConfig;

export interface FilesSourceConfig {
  readonly type: 'files';
  readonly paths: readonly string[];
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  readonly onUnreadable: 'fail' | 'skip';
}

/** A database server connection. The password is resolved from its reference; never logged. */
export interface DbConnection {
  readonly scheme: 'postgres' | 'mysql';
  readonly host: string;
  readonly port: number;
  readonly user?: string;
  readonly database?: string;
  readonly password?: string;
}

export interface PostgresSourceConfig {
  readonly type: 'postgres';
  /** Host, port, user, database, and the password resolved from its reference. */
  readonly connection: DbConnection;
  readonly schemas: readonly string[];
  readonly excludeSchemas: readonly string[];
  readonly tables: readonly string[];
  readonly excludeTables: readonly string[];
  readonly globals: boolean;
  readonly binDir?: string;
}

export interface MysqlSourceConfig {
  readonly type: 'mysql';
  readonly connection: DbConnection;
  readonly databases: readonly string[];
}

export interface SqliteSourceConfig {
  readonly type: 'sqlite';
  readonly path: string;
}

export interface CommandSourceConfig {
  readonly type: 'command';
  readonly dump: readonly string[];
  readonly restore?: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

export type SourceConfig = FilesSourceConfig | PostgresSourceConfig | MysqlSourceConfig | SqliteSourceConfig | CommandSourceConfig;

export interface Retention {
  readonly keepLast?: number;
  readonly keepHourly?: number;
  readonly keepDaily?: number;
  readonly keepWeekly?: number;
  readonly keepMonthly?: number;
  readonly keepYearly?: number;
}

/** Where to tell people about a run; URLs and header values may hold secrets and are never logged. */
export interface NotifyTarget {
  readonly type: 'ping' | 'webhook';
  readonly url: string;
  readonly on: readonly ('success' | 'failure')[];
  readonly headers?: Readonly<Record<string, string>>;
}

export type DrillTarget =
  | { readonly type: 'postgres'; readonly connection?: DbConnection; readonly ephemeral: boolean; readonly binDir?: string }
  | { readonly type: 'mysql'; readonly connection: DbConnection }
  | { readonly type: 'sqlite' }
  | { readonly type: 'directory' }
  | { readonly type: 'command'; readonly restore?: readonly string[]; readonly env: Readonly<Record<string, string>> };

export type DrillCheck = { readonly name: string } & (
  | { readonly kind: 'sql'; readonly sql: string; readonly expect: { readonly equals?: string | number | boolean; readonly min?: number; readonly max?: number; readonly notEmpty?: boolean } }
  | { readonly kind: 'freshness'; readonly table: string; readonly column: string; readonly withinMs: number }
  | { readonly kind: 'schemaDrift'; readonly tolerance: number }
  | { readonly kind: 'file'; readonly file: string; readonly sha256?: string; readonly minSize?: number }
  | { readonly kind: 'glob'; readonly glob: string; readonly minCount: number }
  | { readonly kind: 'command'; readonly argv: readonly string[]; readonly env: Readonly<Record<string, string>> }
);

export interface DrillConfig {
  readonly schedule?: string;
  readonly target: DrillTarget;
  readonly checks: readonly DrillCheck[];
  /** `rotate`, or the name of one of the job's sites. */
  readonly site: string;
  readonly timeoutMs?: number;
}

export interface JobConfig {
  readonly name: string;
  readonly source: SourceConfig;
  readonly sites: readonly string[];
  /** A backup succeeds when it committed on at least this many sites. */
  readonly minSites: number;
  readonly schedule?: string;
  readonly timezone?: string;
  readonly compressionLevel: number;
  /** zstd frames compressed at the same time during a backup; `auto`: as many as the source keeps busy. */
  readonly compressionThreads: number | 'auto';
  readonly retention?: Retention;
  readonly objectives: { readonly rpoMs?: number; readonly rtoMs?: number };
  readonly timeoutMs?: number;
  readonly notify: readonly NotifyTarget[];
  readonly drill?: DrillConfig;
  readonly verify?: { readonly schedule: string; readonly deep: boolean };
}

export interface Config {
  /** The config file as the user named it, for messages. */
  readonly file: string;
  readonly encryption: {
    readonly recipients: readonly Recipient[];
    readonly identityFile?: string;
  };
  readonly signing: SigningConfig;
  readonly sites: ReadonlyMap<string, SiteConfig>;
  readonly jobs: ReadonlyMap<string, JobConfig>;
  readonly api: {
    readonly listen: string;
    readonly tokens: readonly { readonly name: string; readonly role: 'viewer' | 'operator'; readonly sha256: string }[];
    readonly openMetrics: boolean;
  };
  readonly daemon: { readonly shutdownGraceMs: number; readonly concurrency: number; readonly retries: number; readonly retryDelayMs: number; readonly leaseTtlMs: number };
}
