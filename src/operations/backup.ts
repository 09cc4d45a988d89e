/**
 * The backup operation: prepare each site (repository marker, leftovers of interrupted uploads),
 * stream one snapshot to every reachable site, and judge the result against `minSites`.
 */
import type { Manifest } from '../catalog/manifest.ts';
import { snapshotsPrefix } from '../catalog/layout.ts';
import { ensureRepository } from '../catalog/repository.ts';
import { newSnapshotId } from '../catalog/snapshot-id.ts';
import { LifeboatError, describeError } from '../errors.ts';

function isPermanent(err: unknown): boolean {
  return err instanceof LifeboatError ? err.permanent : false;
}
import { backupPipeline } from '../pipeline/backup.ts';
import { startDump, type EarlyDump } from '../pipeline/early-dump.ts';
import type { Site } from '../sites/site.ts';
import { createSource } from '../sources/registry.ts';
import type { Source } from '../sources/source.ts';
import type { Context } from './context.ts';

export interface BackupReport {
  readonly job: string;
  readonly snapshotId: string;
  /** True when the snapshot committed on at least minSites sites. */
  readonly ok: boolean;
  readonly minSites: number;
  readonly committed: string[];
  /** Sites that did not commit; `permanent` when retrying cannot help (credentials, a missing bucket). */
  readonly failed: { site: string; error: string; permanent: boolean }[];
  readonly manifest?: Manifest;
  readonly seconds: number;
}

export interface BackupOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: { sourceBytes: number; storedBytes: number }) => void;
  /**
   * The job's dump, when the caller started it already (the CLI does, before it takes the lease);
   * from here on the backup either uses it or cancels it.
   */
  readonly early?: { readonly source: Source; readonly dump: EarlyDump };
}

export async function backup(ctx: Context, jobName: string, o: BackupOptions = {}): Promise<BackupReport> {
  const job = ctx.job(jobName);
  const started = o.early?.dump.startedAt ?? Date.now();
  const signal = o.signal ?? new AbortController().signal;
  const snapshotId = newSnapshotId();
  const failed: { site: string; error: string; permanent: boolean }[] = [];

  // The dump starts first and the sites are prepared beside it (the repository marker read, or
  // written on a new site; a sweep of leftovers), so that pg_dump's connection and first reads do
  // not wait for them; it idles on a full pipe until the pipeline reads it. On an fs site that
  // preparation takes a few milliseconds (no difference measured at pg_dump's start); on an S3
  // site it is three requests in a row (marker HEAD and GET, the list of unfinished uploads), the
  // first also opening the connection. A source's command therefore runs, and is stopped again,
  // when too few sites can be prepared.
  const source = o.early?.source ?? createSource(job.source);
  const early = o.early?.dump ?? startDump(source);

  // Sites that cannot even be prepared are out of this run; the others go ahead if enough remain.
  const ready: Site[] = [];
  try {
    await Promise.all(
      (await ctx.jobSites(job)).map(async (site) => {
        try {
          await ensureRepository(site);
          await site.sweepIncomplete(snapshotsPrefix(job.name));
          ready.push(site);
        } catch (err) {
          failed.push({ site: site.name, error: describeError(err), permanent: isPermanent(err) });
        }
      }),
    );
  } catch (err) {
    await early.cancel();
    throw err;
  }
  const order = new Map(job.sites.map((s, i) => [s, i]));
  ready.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
  if (ready.length < job.minSites || signal.aborted) {
    await early.cancel();
    if (signal.aborted) throw new LifeboatError('ABORTED', `backup of ${job.name} aborted; nothing was committed`);
    throw new LifeboatError(
      'BACKUP_FAILED',
      `backup of ${job.name} needs ${job.minSites} site(s) but only ${ready.length} can be reached: ${failed.map((f) => f.error).join('; ')}`,
      // Worth retrying only if some site failed for a passing reason.
      { permanent: failed.every((f) => f.permanent) },
    );
  }

  const result = await backupPipeline({
    job: job.name,
    snapshotId,
    source,
    early,
    sites: ready,
    minSites: job.minSites,
    recipients: ctx.config.encryption.recipients,
    compressionLevel: job.compressionLevel,
    compressionThreads: job.compressionThreads,
    ...(ctx.config.signing.key ? { signingKey: ctx.config.signing.key } : {}),
    signal,
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });
  const committed = result.sites.filter((s) => s.committed).map((s) => s.site);
  for (const s of result.sites) if (!s.committed) failed.push({ site: s.site, error: s.error ? describeError(s.error) : 'not committed', permanent: s.error ? s.error.permanent : false });
  failed.sort((a, b) => order.get(a.site)! - order.get(b.site)!);
  return {
    job: job.name,
    snapshotId,
    ok: committed.length >= job.minSites,
    minSites: job.minSites,
    committed,
    failed,
    manifest: result.manifest,
    seconds: (Date.now() - started) / 1000,
  };
}
