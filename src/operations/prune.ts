/**
 * Pruning: apply the job's retention policy on each site separately (sites may hold different
 * snapshots after outages) and remove what no rule keeps. A snapshot is removed manifest first, so
 * that it stops being a snapshot before its payload goes; an interrupted prune leaves at most a
 * payload without a manifest, which is never listed and is swept later. A snapshot that a restore or
 * drill holds (catalog/holds.ts) is kept whatever the policy says.
 */
import { listSite } from '../catalog/catalog.ts';
import { listHolds, type HoldListing } from '../catalog/holds.ts';
import { manifestKey } from '../catalog/layout.ts';
import type { Manifest } from '../catalog/manifest.ts';
import { applyRetention, hasRules } from '../catalog/retention.ts';
import { describeError } from '../errors.ts';
import type { Context } from './context.ts';

export interface PruneDecision {
  readonly id: string;
  readonly createdAt: string;
  /** Rules that keep the snapshot; empty when it is (or would be) removed. */
  readonly keptBy: string[];
}

export interface SitePrune {
  readonly site: string;
  readonly decisions: PruneDecision[];
  readonly removed: string[];
  readonly errors: string[];
}

export interface PruneReport {
  readonly job: string;
  readonly dryRun: boolean;
  readonly policy: boolean;
  readonly sites: SitePrune[];
}

export async function prune(ctx: Context, jobName: string, o: { dryRun?: boolean; site?: string } = {}): Promise<PruneReport> {
  const job = ctx.job(jobName);
  const sites = await ctx.jobSites(job, o.site);
  const reports = await Promise.all(
    sites.map(async (site): Promise<SitePrune> => {
      const listing = await listSite(site, job.name, ctx.config.signing.trusted);
      if (listing.error) return { site: site.name, decisions: [], removed: [], errors: [listing.error.message] };
      let holds: HoldListing;
      try {
        holds = await listHolds(site, job.name);
      } catch (err) {
        return { site: site.name, decisions: [], removed: [], errors: [`cannot read the holds of restores and drills, so nothing is removed: ${describeError(err)}`] };
      }
      const dated = listing.snapshots.map((s) => ({ id: s.manifest.snapshotId, time: new Date(s.manifest.createdAt), manifest: s.manifest }));
      const decisions = applyRetention(dated, job.retention, job.timezone ?? 'UTC');
      for (const d of decisions) {
        for (const h of holds.active.get(d.snapshot.id) ?? []) d.keptBy.push(`held by a ${h.purpose} on ${h.host} until ${h.expiresAt}`);
      }
      if (!o.dryRun) for (const key of holds.stale) await site.delete(key).catch(() => undefined);
      const removed: string[] = [];
      const errors: string[] = [];
      for (const d of decisions) {
        if (d.keptBy.length > 0) continue;
        // A snapshot under Object Lock cannot be removed before its retention date: keep it, say why.
        let locked: Date | undefined;
        try {
          locked = await site.lockedUntil?.(manifestKey(job.name, d.snapshot.id));
        } catch (err) {
          errors.push(`${d.snapshot.id}: kept, its lock cannot be read: ${describeError(err)}`);
          continue;
        }
        if (locked) {
          d.keptBy.push(`locked until ${locked.toISOString()}`);
          continue;
        }
        if (o.dryRun) continue;
        try {
          await removeSnapshot(site, job.name, d.snapshot.manifest);
          removed.push(d.snapshot.id);
        } catch (err) {
          errors.push(`${d.snapshot.id}: ${describeError(err)}`);
        }
      }
      return {
        site: site.name,
        decisions: decisions.map((d) => ({ id: d.snapshot.id, createdAt: d.snapshot.manifest.createdAt, keptBy: d.keptBy })),
        removed,
        errors,
      };
    }),
  );
  return { job: job.name, dryRun: o.dryRun ?? false, policy: hasRules(job.retention), sites: reports };
}

async function removeSnapshot(site: { delete(key: string): Promise<void> }, job: string, m: Manifest): Promise<void> {
  await site.delete(manifestKey(job, m.snapshotId));
  await site.delete(m.payload.key);
  for (const part of m.parts ?? []) await site.delete(part.key);
}
