/**
 * The daemon: runs every job on its node-cron schedule through one p-queue (global concurrency),
 * never overlapping a job with itself (a trigger that arrives while the job is queued or running is
 * coalesced and logged), applies retention after each successful backup, and keeps the metrics
 * current. At start it reads the catalog from the sites and runs at once ("catch-up") every job
 * whose newest committed snapshot is older than its RPO objective, or that has none.
 *
 * Shutdown: no new runs; running ones get `shutdownGraceMs` to finish, then are aborted cleanly
 * (uploads aborted, no manifest written).
 */
import { schedule, type ScheduledTask } from 'node-cron';
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import type { JobConfig } from '../config/model.ts';
import { describeError } from '../errors.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { backup } from '../operations/backup.ts';
import type { Context } from '../operations/context.ts';
import { prune } from '../operations/prune.ts';
import { readJobState } from './state.ts';

export interface DaemonOptions {
  readonly concurrency: number;
  readonly shutdownGraceMs: number;
}

export class Daemon {
  private readonly ctx: Context;
  private readonly metrics: Metrics;
  private readonly log: Logger;
  private readonly o: DaemonOptions;
  private readonly queue: PQueue;
  private readonly tasks: ScheduledTask[] = [];
  /** Jobs queued or running, with the controller that aborts a running one. */
  private readonly active = new Map<string, AbortController>();
  private stopping = false;
  ready = false;

  constructor(ctx: Context, metrics: Metrics, log: Logger, o: DaemonOptions) {
    this.ctx = ctx;
    this.metrics = metrics;
    this.log = log;
    this.o = o;
    this.queue = new PQueue({ concurrency: o.concurrency });
  }

  async start(): Promise<void> {
    const jobs = [...this.ctx.config.jobs.values()];
    const states = await Promise.all(jobs.map((j) => readJobState(this.ctx, j, this.metrics).then((s) => [j, s] as const)));
    this.ready = true;
    for (const [job, state] of states) {
      this.log.info({ backup_job: job.name, recoveryPoint: state.recoveryPoint?.toISOString() ?? null, snapshots: state.snapshotsBySite, unreachable: state.unreachable }, 'catalog read');
      if (!job.schedule) continue;
      this.tasks.push(schedule(job.schedule, () => this.trigger(job, 'schedule'), { name: job.name, ...(job.timezone ? { timezone: job.timezone } : {}) }));
      const age = state.recoveryPoint ? Date.now() - state.recoveryPoint.getTime() : undefined;
      if (age === undefined) this.trigger(job, 'catch-up: no committed snapshot yet');
      else if (job.objectives.rpoMs !== undefined && age > job.objectives.rpoMs) {
        this.trigger(job, `catch-up: newest snapshot is ${Math.round(age / 1000)} s old, older than the RPO objective of ${job.objectives.rpoMs / 1000} s`);
      }
    }
    this.log.info({ jobs: jobs.length, scheduled: this.tasks.length }, 'daemon started');
  }

  /** Queues a backup of `job` unless one is already queued or running. */
  trigger(job: JobConfig, reason: string): void {
    if (this.stopping) return;
    if (this.active.has(job.name)) {
      this.log.warn({ backup_job: job.name, reason }, 'trigger coalesced: the job is already queued or running');
      return;
    }
    const ac = new AbortController();
    this.active.set(job.name, ac);
    this.log.info({ backup_job: job.name, reason }, 'backup queued');
    void this.queue.add(() => this.run(job, ac)).finally(() => this.active.delete(job.name));
  }

  private async run(job: JobConfig, ac: AbortController): Promise<void> {
    if (ac.signal.aborted) return;
    const started = Date.now();
    const timeout = job.timeoutMs === undefined ? undefined : setTimeout(() => ac.abort(new Error('timeout')), job.timeoutMs);
    try {
      const r = await backup(this.ctx, job.name, { signal: ac.signal });
      const seconds = (Date.now() - started) / 1000;
      this.metrics.backupDuration.observe({ backup_job: job.name }, seconds);
      this.metrics.backupRuns.inc({ backup_job: job.name, outcome: r.ok ? 'success' : 'failed' });
      if (r.manifest) {
        this.metrics.backupBytes.inc({ backup_job: job.name, stage: 'source' }, r.manifest.payload.plaintext.bytes);
        this.metrics.backupBytes.inc({ backup_job: job.name, stage: 'stored' }, r.manifest.payload.ciphertext.bytes * r.committed.length);
      }
      for (const f of r.failed) {
        this.metrics.siteErrors.inc({ site: f.site, operation: 'backup' });
        this.metrics.siteUp.set({ site: f.site }, 0);
      }
      for (const s of r.committed) this.metrics.siteUp.set({ site: s }, 1);
      this.log[r.ok ? 'info' : 'error'](
        { backup_job: job.name, snapshot: r.snapshotId, committed: r.committed, failed: r.failed, seconds },
        r.ok ? 'backup committed' : 'backup failed: too few sites committed',
      );
      if (r.ok) await this.applyRetention(job);
    } catch (err) {
      this.metrics.backupRuns.inc({ backup_job: job.name, outcome: 'failed' });
      this.metrics.backupDuration.observe({ backup_job: job.name }, (Date.now() - started) / 1000);
      this.log.error({ backup_job: job.name, error: describeError(err) }, ac.signal.aborted ? 'backup aborted' : 'backup failed');
    } finally {
      if (timeout) clearTimeout(timeout);
      await readJobState(this.ctx, job, this.metrics, false).catch((err: unknown) => this.log.warn({ backup_job: job.name, error: describeError(err) }, 'cannot refresh state'));
    }
  }

  private async applyRetention(job: JobConfig): Promise<void> {
    if (!job.retention) return;
    try {
      const p = await prune(this.ctx, job.name);
      const removed = p.sites.reduce((n, s) => n + s.removed.length, 0);
      if (removed > 0) this.log.info({ backup_job: job.name, removed: Object.fromEntries(p.sites.map((s) => [s.site, s.removed])) }, 'retention applied');
      for (const s of p.sites) for (const e of s.errors) this.log.warn({ backup_job: job.name, site: s.site, error: e }, 'prune failed');
    } catch (err) {
      this.log.warn({ backup_job: job.name, error: describeError(err) }, 'retention not applied');
    }
  }

  /** Stops scheduling; gives running jobs the grace period, then aborts them. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.tasks) await t.stop();
    this.queue.clear();
    const idle = this.queue.onIdle();
    const grace = new Promise<'grace'>((r) => setTimeout(() => r('grace'), this.o.shutdownGraceMs).unref());
    if ((await Promise.race([idle.then(() => 'idle' as const), grace])) === 'grace') {
      this.log.warn({ running: [...this.active.keys()] }, 'shutdown grace period over: aborting running jobs');
      for (const ac of this.active.values()) ac.abort(new Error('shutdown'));
      await idle;
    }
  }

  /** Aborts everything at once (a second signal). */
  abortAll(): void {
    for (const ac of this.active.values()) ac.abort(new Error('shutdown'));
  }
}
