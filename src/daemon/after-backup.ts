/** What the daemon does after each successful backup: copy snapshots to sites that lack them, then apply retention. */
import type { Logger } from 'pino';
import type { JobConfig } from '../config/model.ts';
import { describeError } from '../errors.ts';
import type { Context } from '../operations/context.ts';
import { prune } from '../operations/prune.ts';
import { heal } from '../operations/verify.ts';
import type { SiteHealth } from './site-health.ts';

/** Copies snapshots to sites of the job that lack them (a site that was down catches up). */
export async function healSites(ctx: Context, log: Logger, job: JobConfig, health: SiteHealth): Promise<void> {
  if (job.sites.length < 2) return;
  try {
    const h = await heal(ctx, job.name);
    if (h.copied.length > 0) log.info({ backup_job: job.name, copied: h.copied }, 'healed: snapshots copied to sites that lacked them');
    for (const f of h.failed) {
      log.warn({ backup_job: job.name, snapshot: f.snapshotId, site: f.to, error: f.error }, 'heal failed');
      health.failed(f.to, 'heal', `${f.snapshotId}: ${f.error}`);
    }
  } catch (err) {
    log.warn({ backup_job: job.name, error: describeError(err) }, 'heal not run');
  }
}

export async function applyRetention(ctx: Context, log: Logger, job: JobConfig): Promise<void> {
  if (!job.retention) return;
  try {
    const p = await prune(ctx, job.name);
    const removed = p.sites.reduce((n, s) => n + s.removed.length, 0);
    if (removed > 0) log.info({ backup_job: job.name, removed: Object.fromEntries(p.sites.map((s) => [s.site, s.removed])) }, 'retention applied');
    for (const s of p.sites) for (const e of s.errors) log.warn({ backup_job: job.name, site: s.site, error: e }, 'prune failed');
  } catch (err) {
    log.warn({ backup_job: job.name, error: describeError(err) }, 'retention not applied');
  }
}
