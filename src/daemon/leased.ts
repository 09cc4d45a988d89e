/**
 * Running a job under its lease (catalog/lease.ts): take the lease or skip the run because another
 * daemon has it; then, holding it, ask `skipIf` whether the run is still needed (another daemon may
 * have just done this scheduled run); keep the lease alive while `fn` runs, aborting it if the lease
 * is lost; release it at the end.
 */
import { JobLease } from '../catalog/lease.ts';
import type { Site } from '../sites/site.ts';

export type LeasedRun<T> = { readonly ran: true; readonly value: T } | { readonly ran: false; readonly why: string };

export async function runLeased<T>(
  o: { sites: readonly Site[]; job: string; kind: 'backup' | 'drill'; ttlMs: number; abort: (why: string) => void; skipIf?: () => Promise<string | undefined> },
  fn: () => Promise<T>,
): Promise<LeasedRun<T>> {
  const lease = new JobLease(o.sites, o.job, o.kind, o.ttlMs);
  const got = await lease.acquire();
  if (!got.ok) return { ran: false, why: `another daemon (${got.holder}) is running this ${o.kind} of ${o.job}; its lease lasts until ${got.expiresAt}` };
  try {
    const why = await o.skipIf?.();
    if (why !== undefined) return { ran: false, why };
    lease.keepAlive(o.abort);
    return { ran: true, value: await fn() };
  } finally {
    await lease.release();
  }
}
