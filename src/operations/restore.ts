/**
 * The restore operation: find the snapshot, check the target before downloading anything, then
 * restore from the first site that holds it, falling back to the next on a site error or a
 * damaged copy. A target that is the job's own source is refused without `intoSource`: restoring
 * over production by mistake is how restores destroy data.
 */
import { statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { checkHeader } from '../crypto/age.ts';
import { Hold } from '../catalog/holds.ts';
import type { SnapshotEntry } from '../catalog/catalog.ts';
import type { JobConfig } from '../config/model.ts';
import type { Identity } from '../crypto/keys.ts';
import { LifeboatError, describeError } from '../errors.ts';
import type { Site } from '../sites/site.ts';
import { restorePipeline, type RestoreResult } from '../pipeline/restore.ts';
import { WorkerStart } from '../pipeline/restore-worker/plaintext.ts';
import { createSource } from '../sources/registry.ts';
import type { PreparedTarget, Source, TargetOptions } from '../sources/source.ts';
import { guardTarget, intoSourceError } from './restore-guards.ts';
import type { Context } from './context.ts';
import { listSnapshots, pickSnapshot } from './snapshots.ts';
import { formatBytes } from '../bytes.ts';

export interface RestoreRequest extends TargetOptions {
  readonly snapshot: string;
  readonly site?: string;
  readonly target: string;
  /** Allow the job's own source as the target. */
  readonly intoSource?: boolean;
  /** PostgreSQL: restore the snapshot's roles and tablespaces first. */
  readonly globals?: boolean;
  /** Named in the hold that keeps the snapshot from retention while it is read ("restore", "drill"). */
  readonly purpose?: string;
  /** The source that restores (drills with their own restore command); default: the job's. */
  readonly source?: Source;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: { site: string; bytes: number; total: number }) => void;
  readonly onFallback?: (site: string, error: LifeboatError, next: string) => void;
}

export interface RestoreReport extends RestoreResult {
  readonly job: string;
  readonly snapshotId: string;
  readonly seconds: number;
}

export interface PreflightCheck {
  readonly check: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface PreflightReport {
  readonly job: string;
  readonly snapshotId?: string;
  readonly ok: boolean;
  readonly checks: PreflightCheck[];
}

function targetOptions(r: RestoreRequest): TargetOptions {
  return {
    ...(r.force ? { force: true } : {}),
    ...(r.clean ? { clean: true } : {}),
    ...(r.noOwner ? { noOwner: true } : {}),
    ...(r.jobs !== undefined ? { jobs: r.jobs } : {}),
    ...(r.password !== undefined ? { password: r.password } : {}),
  };
}

export async function restore(ctx: Context, jobName: string, r: RestoreRequest): Promise<RestoreReport> {
  const started = Date.now();
  const job = ctx.job(jobName);
  const source = r.source ?? createSource(job.source);
  await guardTarget(ctx, source, r, job.name);
  // The restore worker starts now, beside the target's preparation and the catalog read.
  const worker = new WorkerStart();
  try {
    return await restoreWith(ctx, job, source, r, worker, started);
  } finally {
    await worker.dispose();
  }
}

async function restoreWith(ctx: Context, job: JobConfig, source: Source, r: RestoreRequest, worker: WorkerStart, started: number): Promise<RestoreReport> {
  // The target is checked, or made ready, while the catalog is read (each is a few tens of
  // milliseconds of waiting on other processes); a target problem is reported first. What
  // preparing created (a database) is removed again when the restore fails.
  const target = source.prepareTarget ? source.prepareTarget(r.target, targetOptions(r)) : source.checkTarget(r.target, targetOptions(r)).then(() => undefined);
  const catalog = Promise.all([ctx.identities(), listSnapshots(ctx, job.name, r.site === undefined ? {} : { site: r.site })]);
  catalog.catch(() => {});
  const prepared = await target;
  try {
    const [identities, list] = await catalog;
    const entry = pickSnapshot(list, r.snapshot);
    if (entry.manifest.payload.ext !== source.ext) {
      throw new LifeboatError('USAGE', `snapshot ${entry.id} holds a ${entry.manifest.source.kind} payload, but job ${job.name} now has a ${source.kind} source`);
    }
    // A target that preparing created holds nothing to overwrite.
    const same = r.intoSource || !prepared || prepared.created ? undefined : prepared.snapshotSource?.(entry.manifest.source.facts);
    if (same !== undefined) throw intoSourceError(r.target, same, job.name);
    const sites = await Promise.all(entry.sites.map((s) => ctx.site(s)));
    // The hold is written beside the restore's first reads, not before them: taking it is best
    // effort anyway (holds.ts), and it costs a PUT per site (a round trip to each S3 site, synced
    // writes on an fs site) that the download need not wait for. A prune that lists the holds
    // just before this one lands could remove the snapshot whether or not the read had started;
    // the read then fails over to the next site. The release waits for the writes, so that no
    // hold is left behind by a restore that failed while they were under way.
    const hold = new Hold(sites, job.name, entry.id, r.purpose ?? 'restore');
    const taken = hold.take();
    try {
      return await restoreHeld(r, job.name, entry, sites, source, identities, started, prepared, worker);
    } finally {
      await taken;
      await hold.release();
    }
  } catch (err) {
    await prepared?.undo();
    throw err;
  }
}

async function restoreHeld(
  r: RestoreRequest,
  job: string,
  entry: SnapshotEntry,
  sites: Site[],
  source: Source,
  identities: Identity[],
  started: number,
  prepared: PreparedTarget | undefined,
  worker: WorkerStart,
): Promise<RestoreReport> {
  const result = await restorePipeline({
    worker,
    manifest: entry.manifest,
    sites,
    identities,
    source,
    target: r.target,
    options: { ...targetOptions(r), ...(prepared ? { prepared } : {}) },
    ...(r.globals ? { parts: ['globals'] } : {}),
    signal: r.signal ?? new AbortController().signal,
    ...(r.onProgress ? { onProgress: r.onProgress } : {}),
    ...(r.onFallback ? { onFallback: r.onFallback } : {}),
  });
  return { ...result, job, snapshotId: entry.id, seconds: (Date.now() - started) / 1000 };
}

async function attempt(checks: PreflightCheck[], check: string, fn: () => Promise<string>): Promise<boolean> {
  try {
    checks.push({ check, ok: true, detail: await fn() });
    return true;
  } catch (err) {
    checks.push({ check, ok: false, detail: describeError(err) });
    return false;
  }
}

/** `restore --dry-run`: everything a restore would check, writing nothing. */
export async function preflight(ctx: Context, jobName: string, r: RestoreRequest): Promise<PreflightReport> {
  const job = ctx.job(jobName);
  const source = createSource(job.source);
  const checks: PreflightCheck[] = [];
  await attempt(checks, 'target', async () => {
    await guardTarget(ctx, source, r, job.name);
    return (await source.checkTarget(r.target, targetOptions(r))).join('; ');
  });
  const list = await listSnapshots(ctx, job.name, r.site === undefined ? {} : { site: r.site });
  for (const l of list.listings) if (l.error) checks.push({ check: `site ${l.site}`, ok: false, detail: l.error.message });
  let snapshotId: string | undefined;
  let entry;
  try {
    entry = pickSnapshot(list, r.snapshot);
    snapshotId = entry.id;
    checks.push({ check: 'snapshot', ok: true, detail: `${entry.id} (${formatBytes(entry.manifest.payload.plaintext.bytes)}) on ${entry.sites.join(', ')}` });
  } catch (err) {
    checks.push({ check: 'snapshot', ok: false, detail: describeError(err) });
  }
  if (entry) {
    const e = entry;
    if (!r.intoSource && source.targetSnapshotSource) {
      await attempt(checks, 'not the source', async () => {
        const same = await source.targetSnapshotSource!(r.target, targetOptions(r), e.manifest.source.facts);
        if (same !== undefined) throw intoSourceError(r.target, same, job.name);
        return `the target is not the database that snapshot ${e.id} was taken of`;
      });
    }
    await attempt(checks, 'identity', async () => {
      const identities = await ctx.identities();
      const site = await ctx.site(e.sites[0]!);
      const stream = await site.get(e.manifest.payload.key);
      const parts: Buffer[] = [];
      let size = 0;
      for await (const chunk of stream) {
        parts.push(chunk as Buffer);
        size += (chunk as Buffer).length;
        if (size >= 64 * 1024) break;
      }
      stream.destroy();
      checkHeader(Buffer.concat(parts), identities);
      return `the identity file opens the snapshot's header (read from site ${site.name})`;
    });
    if (r.jobs !== undefined && r.jobs > 1) {
      await attempt(checks, 'spool space', async () => {
        const fs = await statfs(tmpdir());
        const free = fs.bavail * fs.bsize;
        const need = e.manifest.payload.plaintext.bytes;
        if (free < need) throw new Error(`--jobs spools ${formatBytes(need)} to ${tmpdir()}, which has ${formatBytes(free)} free`);
        return `${tmpdir()} has ${formatBytes(free)} free for a ${formatBytes(need)} spool file`;
      });
    }
  }
  return { job: job.name, ...(snapshotId ? { snapshotId } : {}), ok: checks.every((c) => c.ok), checks };
}
