/**
 * Running a job under its lease (catalog/lease.ts): take the lease or skip the run because another
 * Lifeboat process has it; then, holding it, ask `skipIf` whether the run is still needed (another
 * daemon may have just done this scheduled run); keep the lease alive while `fn` runs, aborting it
 * if the lease is lost; release it at the end. Daemons run their backups and drills this way, and
 * so do the CLI's `backup` and `heal`: a backup sweeps the leftovers of interrupted uploads from the
 * job's snapshots, which must never be the uploads of a run still going on elsewhere.
 */
import { JobLease } from '../catalog/lease.ts';
import { LifeboatError } from '../errors.ts';
import type { Site } from '../sites/site.ts';
import type { Context } from './context.ts';

export type LeasedRun<T> = { readonly ran: true; readonly value: T } | { readonly ran: false; readonly why: string };

export async function runLeased<T>(
  o: { sites: readonly Site[]; job: string; kind: 'backup' | 'drill'; ttlMs: number; abort: (why: string) => void; skipIf?: () => Promise<string | undefined> },
  fn: () => Promise<T>,
): Promise<LeasedRun<T>> {
  const lease = new JobLease(o.sites, o.job, o.kind, o.ttlMs);
  const got = await lease.acquire();
  if (!got.ok) return { ran: false, why: `another Lifeboat process (${got.holder}) is running this ${o.kind} of ${o.job}; its lease lasts until ${got.expiresAt}` };
  try {
    const why = await o.skipIf?.();
    if (why !== undefined) return { ran: false, why };
    lease.keepAlive(o.abort);
    return { ran: true, value: await fn() };
  } finally {
    await lease.release();
  }
}

/**
 * Runs `fn` (a backup or a heal started by hand) under the job's backup lease: refuses, naming the
 * holder, while another process runs a backup of the job. `fn`'s signal also aborts when the lease
 * is lost to another holder.
 */
export async function runLeasedByHand<T>(ctx: Context, jobName: string, signal: AbortSignal, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const job = ctx.job(jobName);
  const ac = new AbortController();
  const forward = (): void => ac.abort(signal.reason);
  if (signal.aborted) forward();
  else signal.addEventListener('abort', forward, { once: true });
  try {
    const r = await runLeased(
      { sites: await ctx.jobSites(job), job: job.name, kind: 'backup', ttlMs: ctx.config.daemon.leaseTtlMs, abort: (why) => ac.abort(new LifeboatError('ABORTED', why)) },
      () => fn(ac.signal),
    );
    if (!r.ran) throw new LifeboatError('CONFLICT', `${r.why}: wait for it to end, or run this again later`);
    return r.value;
  } finally {
    signal.removeEventListener('abort', forward);
  }
}
