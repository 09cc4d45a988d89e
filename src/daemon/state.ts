/**
 * What the daemon knows about a job, derived from the sites alone: per site the committed
 * snapshots and the newest one, and the job's recovery point — the newest snapshot committed on
 * at least minSites sites. Rebuilt at start and after every run, so a new host with the same
 * config starts from where the old one stopped.
 */
import { listSite, mergeListings } from '../catalog/catalog.ts';
import { listDrillReports } from '../catalog/drill-report.ts';
import type { JobConfig } from '../config/model.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { Context } from '../operations/context.ts';
import { applyDrillReports, type DrillState } from './drill-state.ts';

export interface JobState {
  /** Capture time of the newest snapshot committed on enough sites, if any. */
  readonly recoveryPoint?: Date;
  readonly snapshotsBySite: Record<string, number>;
  readonly unreachable: string[];
  /** Why each unreachable site could not be listed. */
  readonly listingErrors: Record<string, string>;
  /** Jobs with a drill section: what their drill reports show. */
  readonly drills?: DrillState;
}

const seconds = (iso: string): number => Date.parse(iso) / 1000;

/**
 * Reads a job's state and sets its metrics. A site that cannot be listed is marked down; with
 * `markUp`, one that can is marked up (at start — later, backups decide, since listing an empty
 * or broken local folder succeeds).
 */
export async function readJobState(ctx: Context, job: JobConfig, metrics: Metrics, markUp = true): Promise<JobState> {
  const sites = await ctx.jobSites(job);
  const [listings, drills] = await Promise.all([
    Promise.all(sites.map((s) => listSite(s, job.name, ctx.config.signing.trusted))),
    job.drill ? listDrillReports(sites, job.name, ctx.config.signing.trusted).then((d) => applyDrillReports(metrics, job.name, d.reports)) : undefined,
  ]);
  const snapshotsBySite: Record<string, number> = {};
  const unreachable: string[] = [];
  const listingErrors: Record<string, string> = {};
  for (const l of listings) {
    if (l.error) {
      unreachable.push(l.site);
      listingErrors[l.site] = l.error.message;
      metrics.siteUp.set({ site: l.site }, 0);
      continue;
    }
    if (markUp) metrics.siteUp.set({ site: l.site }, 1);
    snapshotsBySite[l.site] = l.snapshots.length;
    metrics.snapshots.set({ backup_job: job.name, site: l.site }, l.snapshots.length);
    const newest = l.snapshots.reduce<string | undefined>((a, s) => (a === undefined || s.manifest.completedAt > a ? s.manifest.completedAt : a), undefined);
    if (newest) metrics.backupLastSuccess.set({ backup_job: job.name, site: l.site }, seconds(newest));
  }
  const merged = mergeListings(listings);
  const point = merged.find((e) => e.sites.length >= job.minSites);
  if (point) {
    metrics.recoveryPoint.set({ backup_job: job.name }, seconds(point.manifest.createdAt));
    metrics.snapshotSize.set({ backup_job: job.name }, point.manifest.payload.ciphertext.bytes);
  }
  if (job.objectives.rpoMs !== undefined) metrics.rpoObjective.set({ backup_job: job.name }, job.objectives.rpoMs / 1000);
  if (job.objectives.rtoMs !== undefined) metrics.rtoObjective.set({ backup_job: job.name }, job.objectives.rtoMs / 1000);
  return { ...(point ? { recoveryPoint: new Date(point.manifest.createdAt) } : {}), snapshotsBySite, unreachable, listingErrors, ...(drills ? { drills } : {}) };
}
