/**
 * The daemon: runs every job on its node-cron schedule through one p-queue (global concurrency),
 * never overlapping a job with itself (a trigger that arrives while the job is queued or running is
 * coalesced and logged), copies snapshots to sites that lack them and applies retention after
 * each successful backup, runs drills on their own schedules, and keeps the metrics current. A
 * backup also waits for an upload slot on each of its sites that sets `maxUploads` (site-slots.ts).
 * At start it reads the catalog from the sites and runs at once ("catch-up") every job
 * whose newest committed snapshot is older than its RPO objective (without one: older than one
 * interval of its schedule), or that has none.
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
import type { Context } from '../operations/context.ts';
import { restore, type RestoreRequest } from '../operations/restore.ts';
import { Operations, type Operation } from './operations.ts';
import { Notifier, type NotifierOptions } from '../notify/notifier.ts';
import { scheduleIntervalMs } from './interval.ts';
import { removeLeftovers } from '../drills/leftovers.ts';
import { runBackup } from './backup-runner.ts';
import { runDrill } from './drill-runner.ts';
import type { RunnerDeps } from './runner-deps.ts';
import { runVerify } from './verify-runner.ts';
import { runLeased } from '../operations/leased.ts';
import { doneSince, drillDoneSince, type SkipCheck } from './skip.ts';
import { SiteSlots } from './site-slots.ts';
import { SiteHealth } from './site-health.ts';
import type { DrillState } from './drill-state.ts';
import { readJobState, type JobState } from './state.ts';
import { redactTarget } from '../sources/url-target.ts';

export interface DaemonOptions {
  readonly concurrency: number;
  readonly shutdownGraceMs: number;
  readonly retries: number;
  readonly retryDelayMs: number;
  /** How long a job's lease lasts unless renewed (a dead daemon's jobs are taken over after it). */
  readonly leaseTtlMs: number;
  /** Overrides of the notification delivery settings (tests). */
  readonly notify?: Partial<NotifierOptions>;
}

/** Exponential backoff with jitter: delay × 2^(attempt-1), times a random 0.5–1, at most 1 h. */
export function retryDelay(baseMs: number, attempt: number): number {
  return Math.min(3_600_000, baseMs * 2 ** (attempt - 1)) * (0.5 + Math.random() * 0.5);
}

export class Daemon {
  private readonly ctx: Context;
  private readonly metrics: Metrics;
  private readonly log: Logger;
  private readonly o: DaemonOptions;
  private readonly queue: PQueue;
  private readonly tasks: ScheduledTask[] = [];
  private readonly otherTasks: ScheduledTask[] = [];
  /** Backups queued or running per job, with the controller that aborts a running one. */
  private readonly active = new Map<string, { ac: AbortController; op: Operation }>();
  /** Restores queued or running. */
  private readonly restores = new Set<AbortController>();
  /** Drills and verifies queued or running, by `kind:job` (never two of a kind for a job at once). */
  private readonly exclusive = new Map<string, { ac: AbortController; op: Operation }>();
  readonly operations = new Operations();
  private stopping = false;
  private readonly points = new Map<string, Date>();
  private readonly drillStates = new Map<string, DrillState>();
  private readonly states = new Map<string, JobState>();
  readonly siteHealth = new SiteHealth();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly slots: SiteSlots;
  private readonly notifier: Notifier;
  ready = false;

  constructor(ctx: Context, metrics: Metrics, log: Logger, o: DaemonOptions) {
    this.ctx = ctx;
    this.metrics = metrics;
    this.log = log;
    this.o = o;
    this.queue = new PQueue({ concurrency: o.concurrency });
    this.slots = new SiteSlots(ctx.config.sites.values());
    this.notifier = new Notifier(log, {
      ...o.notify,
      onResult: (job, delivered) => metrics.notifications.inc({ backup_job: job, outcome: delivered ? 'delivered' : 'failed' }),
    });
  }

  async start(): Promise<void> {
    const jobs = [...this.ctx.config.jobs.values()];
    // A few jobs at a time: with a thousand jobs, reading them all at once is slower, not faster.
    const states = await new PQueue({ concurrency: 16 }).addAll(jobs.map((j) => async () => [j, await readJobState(this.ctx, j, this.metrics)] as const));
    this.ready = true;
    for (const [job, state] of states) {
      this.remember(job.name, state);
      this.log.info({ backup_job: job.name, recoveryPoint: state.recoveryPoint?.toISOString() ?? null, snapshots: state.snapshotsBySite, unreachable: state.unreachable }, 'catalog read');
      if (job.verify) {
        this.otherTasks.push(schedule(job.verify.schedule, () => this.triggerVerify(job, 'schedule'), { name: `verify:${job.name}`, ...(job.timezone ? { timezone: job.timezone } : {}) }));
      }
      if (job.drill?.schedule) {
        this.otherTasks.push(schedule(job.drill.schedule, () => this.triggerDrill(job, 'schedule', {}, Math.floor(Date.now() / 1000) * 1000), { name: `drill:${job.name}`, ...(job.timezone ? { timezone: job.timezone } : {}) }));
      }
      if (!job.schedule) continue;
      this.tasks.push(schedule(job.schedule, () => this.trigger(job, 'schedule', 0, doneSince(new Date())), { name: job.name, ...(job.timezone ? { timezone: job.timezone } : {}) }));
      const age = state.recoveryPoint ? Date.now() - state.recoveryPoint.getTime() : undefined;
      const interval = job.objectives.rpoMs === undefined ? scheduleIntervalMs(job.schedule, job.timezone) : undefined;
      const stillOverdue: SkipCheck = async (point) => (point && (job.objectives.rpoMs ?? interval ?? Infinity) >= Date.now() - point.getTime() ? 'another daemon caught up on it meanwhile' : undefined);
      if (age === undefined) this.trigger(job, 'catch-up: no committed snapshot yet', 0, stillOverdue);
      else if (job.objectives.rpoMs !== undefined && age > job.objectives.rpoMs) {
        this.trigger(job, `catch-up: newest snapshot is ${Math.round(age / 1000)} s old, older than the RPO objective of ${job.objectives.rpoMs / 1000} s`, 0, stillOverdue);
      } else if (interval !== undefined && age > interval) {
        this.trigger(job, `catch-up: newest snapshot is ${Math.round(age / 1000)} s old, older than one interval of its schedule (${interval / 1000} s); a run was missed`, 0, stillOverdue);
      }
    }
    this.log.info({ jobs: jobs.length, scheduled: this.tasks.length, drills: this.otherTasks.length }, 'daemon started');
    // Scratch targets that a crashed drill left behind; none of ours is running yet.
    void removeLeftovers(jobs)
      .then((removed) => removed.length > 0 && this.log.warn({ removed }, 'removed scratch targets left by interrupted drills'))
      .catch((err: unknown) => this.log.warn({ error: describeError(err) }, 'cannot look for leftovers of interrupted drills'));
  }

  /** Queues `work` as a `kind` operation of `job` unless one is queued or running; undefined while shutting down. */
  private queueExclusive(kind: 'drill' | 'verify', job: JobConfig, reason: string, work: (op: Operation, ac: AbortController) => Promise<void>): Operation | undefined {
    if (this.stopping) return undefined;
    const key = `${kind}:${job.name}`;
    const existing = this.exclusive.get(key);
    if (existing) {
      this.log.warn({ backup_job: job.name, reason, operation: existing.op.id }, `${kind} trigger coalesced: one is already queued or running`);
      return existing.op;
    }
    const ac = new AbortController();
    const op = this.operations.create(kind, job.name, reason);
    this.exclusive.set(key, { ac, op });
    this.log.info({ backup_job: job.name, reason, operation: op.id }, `${kind} queued`);
    void this.queue
      .add(async () => {
        if (ac.signal.aborted || this.stopping) return this.operations.finish(op, false, undefined, 'not run: the daemon is shutting down');
        await work(op, ac);
      })
      .finally(() => this.exclusive.delete(key));
    return op;
  }

  private get deps(): RunnerDeps {
    return {
      ctx: this.ctx,
      metrics: this.metrics,
      log: this.log,
      notifier: this.notifier,
      operations: this.operations,
      siteHealth: this.siteHealth,
      remember: (job, state) => this.remember(job, state),
      committed: (job, at) => {
        const known = this.points.get(job);
        if (!known || at > known) this.points.set(job, at);
      },
    };
  }

  /** Queues a drill of `job` unless one is queued or running; undefined while shutting down. */
  triggerDrill(job: JobConfig, reason: string, request: { snapshot?: string; site?: string } = {}, slot?: number): Operation | undefined {
    return this.queueExclusive('drill', job, reason, async (op, ac) => {
      const r = await runLeased(
        {
          sites: await this.ctx.jobSites(job),
          job: job.name,
          kind: 'drill',
          ttlMs: this.o.leaseTtlMs,
          abort: (why) => ac.abort(new Error(why)),
          ...(slot === undefined ? {} : { skipIf: () => drillDoneSince(this.ctx, job.name, slot) }),
        },
        () => runDrill(this.deps, job, op, ac.signal, request),
      ).catch((err: unknown) => ({ ran: false as const, why: `cannot take the drill's lease: ${describeError(err)}` }));
      if (r.ran) return;
      this.operations.finish(op, true, { skipped: r.why });
      this.log.info({ backup_job: job.name, operation: op.id, reason: r.why }, 'drill skipped');
    });
  }

  /** Queues a verify of `job` (read-only: no lease) unless one is queued or running. */
  triggerVerify(job: JobConfig, reason: string): Operation | undefined {
    return this.queueExclusive('verify', job, reason, (op, ac) => runVerify(this.deps, job, op, ac.signal));
  }

  /**
   * Queues a backup of `job` unless one is already queued or running, and returns its operation
   * (the existing one when the trigger is coalesced); undefined while shutting down.
   */
  trigger(job: JobConfig, reason: string, attempt = 0, skipIf?: SkipCheck): Operation | undefined {
    if (this.stopping) return undefined;
    const existing = this.active.get(job.name);
    if (existing) {
      this.log.warn({ backup_job: job.name, reason, operation: existing.op.id }, 'trigger coalesced: the job is already queued or running');
      return existing.op;
    }
    const ac = new AbortController();
    const op = this.operations.create('backup', job.name, reason);
    this.active.set(job.name, { ac, op });
    this.log.info({ backup_job: job.name, reason, operation: op.id }, 'backup queued');
    void this.slots
      .run(job.sites, () => this.queue.add(() => this.run(job, ac, op, skipIf)))
      .then(
        (transient) => transient === true,
        () => false,
      )
      .then((transient) => {
        this.active.delete(job.name);
        if (transient) this.scheduleRetry(job, attempt + 1);
      });
    return op;
  }

  /** Whether a backup of `job` is queued or running, or still healing and pruning after its run. */
  busy(job: string): boolean {
    return this.active.has(job);
  }

  /** Retries a backup that failed for a passing reason, with backoff; permanent failures are not retried. */
  private scheduleRetry(job: JobConfig, attempt: number): void {
    if (this.stopping) return;
    if (attempt > this.o.retries) {
      this.log.error({ backup_job: job.name, retries: this.o.retries }, 'backup still failing after all retries; waiting for the next scheduled run');
      return;
    }
    const delay = retryDelay(this.o.retryDelayMs, attempt);
    this.log.warn({ backup_job: job.name, attempt, of: this.o.retries, inSeconds: Math.round(delay / 1000) }, 'backup failed for a passing reason: retrying');
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.trigger(job, `retry ${attempt} of ${this.o.retries}`, attempt);
    }, delay);
    this.retryTimers.add(timer);
  }

  /** Queues a restore; its progress and result are in the returned operation. */
  restore(job: JobConfig, request: Omit<RestoreRequest, 'signal' | 'onProgress' | 'onFallback'>, reason: string): Operation | undefined {
    if (this.stopping) return undefined;
    const ac = new AbortController();
    const op = this.operations.create('restore', job.name, reason);
    this.restores.add(ac);
    this.log.info({ backup_job: job.name, operation: op.id, snapshot: request.snapshot, target: redactTarget(request.target) }, 'restore queued');
    void this.queue
      .add(async () => {
        this.operations.start(op);
        try {
          const r = await restore(this.ctx, job.name, {
            ...request,
            signal: ac.signal,
            onProgress: (p) => (op.progress = { bytes: p.bytes, totalBytes: p.total }),
            onFallback: (site, err, next) => this.log.warn({ backup_job: job.name, operation: op.id, site, next, error: err.message }, 'restore falls back to the next site'),
          });
          this.operations.finish(op, true, { snapshotId: r.snapshotId, site: r.site, seconds: r.seconds, failedSites: r.failedSites.map((f) => ({ site: f.site, error: f.error.message })) });
          this.log.info({ backup_job: job.name, operation: op.id, snapshot: r.snapshotId, site: r.site }, 'restore finished');
        } catch (err) {
          this.operations.finish(op, false, undefined, describeError(err));
          this.log.error({ backup_job: job.name, operation: op.id, error: describeError(err) }, 'restore failed');
        }
      })
      .finally(() => this.restores.delete(ac));
    return op;
  }

  /** Runs one backup under the job's lease; resolves true when it failed for a reason that a retry may cure. */
  private async run(job: JobConfig, ac: AbortController, op: Operation, skipIf?: SkipCheck): Promise<boolean> {
    if (ac.signal.aborted || this.stopping) {
      this.operations.finish(op, false, undefined, 'not run: the daemon is shutting down');
      return false;
    }
    this.operations.start(op);
    const r = await runLeased(
      {
        sites: await this.ctx.jobSites(job),
        job: job.name,
        kind: 'backup',
        ttlMs: this.o.leaseTtlMs,
        abort: (why) => ac.abort(new Error(why)),
        ...(skipIf ? { skipIf: async () => skipIf((await readJobState(this.ctx, job, this.metrics, false)).recoveryPoint) } : {}),
      },
      async () => {
        const { retry, state } = await runBackup(this.deps, job, ac, op);
        if (state) this.remember(job.name, state);
        return retry;
      },
    ).catch((err: unknown) => ({ ran: false as const, why: `cannot take the job's lease: ${describeError(err)}` }));
    if (r.ran) return r.value;
    this.operations.finish(op, true, { skipped: r.why });
    this.log.info({ backup_job: job.name, operation: op.id, reason: r.why }, 'backup skipped');
    // Another daemon ran (or runs) it: read what it committed, so that these metrics keep up too.
    await readJobState(this.ctx, job, this.metrics, false)
      .then((st) => this.remember(job.name, st))
      .catch(() => undefined);
    return false;
  }

  /** Stops scheduling; gives running jobs the grace period, then aborts them. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.retryTimers) clearTimeout(t);
    for (const t of [...this.tasks, ...this.otherTasks]) await t.stop();
    this.queue.clear();
    const idle = this.queue.onIdle();
    const grace = new Promise<'grace'>((r) => setTimeout(() => r('grace'), this.o.shutdownGraceMs).unref());
    if ((await Promise.race([idle.then(() => 'idle' as const), grace])) === 'grace') {
      this.log.warn({ running: [...this.active.keys()], others: [...this.exclusive.keys()] }, 'shutdown grace period over: aborting running jobs');
      this.abortAll();
      await idle;
    }
    await this.notifier.flush(5_000);
  }

  /** Aborts everything at once (a second signal). */
  abortAll(): void {
    for (const { ac } of this.active.values()) ac.abort(new Error('shutdown'));
    for (const ac of this.restores) ac.abort(new Error('shutdown'));
    for (const { ac } of this.exclusive.values()) ac.abort(new Error('shutdown'));
  }

  private remember(job: string, st: JobState): void {
    if (st.recoveryPoint) this.points.set(job, st.recoveryPoint);
    if (st.drills) this.drillStates.set(job, st.drills);
    this.states.set(job, st);
    for (const [site, message] of Object.entries(st.listingErrors)) this.siteHealth.failed(site, 'listing', message);
  }

  /** The job's state as last read from its sites (snapshots per site, unreachable sites). */
  jobState(job: string): JobState | undefined {
    return this.states.get(job);
  }

  /** What the job's drill reports showed when last read: the verified recovery point, the last drill. */
  drillState(job: string): DrillState | undefined {
    return this.drillStates.get(job);
  }

  /** Capture time of the job's newest snapshot on enough sites, as last read. */
  recoveryPoint(job: string): Date | undefined {
    return this.points.get(job);
  }

  /** When the job's schedule fires next, if it has one. */
  nextRun(job: string): Date | undefined {
    return this.tasks.find((t) => t.name === job)?.getNextRun() ?? undefined;
  }

  /** When the job's drill schedule fires next, if it has one. */
  nextDrill(job: string): Date | undefined {
    return this.otherTasks.find((t) => t.name === `drill:${job}`)?.getNextRun() ?? undefined;
  }
}
