/**
 * The restore operation: find the snapshot, check the target before downloading anything, then
 * restore from the first site that holds it, falling back to the next on a site error or a
 * damaged copy.
 */
import { LifeboatError } from '../errors.ts';
import { restorePipeline, type RestoreResult } from '../pipeline/restore.ts';
import { createSource } from '../sources/registry.ts';
import type { TargetOptions } from '../sources/source.ts';
import type { Context } from './context.ts';
import { listSnapshots, pickSnapshot } from './snapshots.ts';

export interface RestoreRequest extends TargetOptions {
  readonly snapshot: string;
  readonly site?: string;
  readonly target: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: { site: string; bytes: number; total: number }) => void;
  readonly onFallback?: (site: string, error: LifeboatError, next: string) => void;
}

export interface RestoreReport extends RestoreResult {
  readonly job: string;
  readonly snapshotId: string;
  readonly seconds: number;
}

export async function restore(ctx: Context, jobName: string, r: RestoreRequest): Promise<RestoreReport> {
  const started = Date.now();
  const job = ctx.job(jobName);
  const source = createSource(job.source);
  await source.checkTarget(r.target, targetOptions(r));
  const identities = await ctx.identities();
  const list = await listSnapshots(ctx, job.name, r.site === undefined ? {} : { site: r.site });
  const entry = pickSnapshot(list, r.snapshot);
  if (entry.manifest.payload.ext !== source.ext) {
    throw new LifeboatError('USAGE', `snapshot ${entry.id} holds a ${entry.manifest.source.kind} payload, but job ${job.name} now has a ${source.kind} source`);
  }
  const result = await restorePipeline({
    manifest: entry.manifest,
    sites: await Promise.all(entry.sites.map((s) => ctx.site(s))),
    identities,
    source,
    target: r.target,
    options: targetOptions(r),
    signal: r.signal ?? new AbortController().signal,
    ...(r.onProgress ? { onProgress: r.onProgress } : {}),
    ...(r.onFallback ? { onFallback: r.onFallback } : {}),
  });
  return { ...result, job: job.name, snapshotId: entry.id, seconds: (Date.now() - started) / 1000 };
}

function targetOptions(r: RestoreRequest): TargetOptions {
  return {
    ...(r.force ? { force: true } : {}),
    ...(r.clean ? { clean: true } : {}),
    ...(r.noOwner ? { noOwner: true } : {}),
    ...(r.jobs !== undefined ? { jobs: r.jobs } : {}),
  };
}
