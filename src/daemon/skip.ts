/**
 * When a queued run is no longer needed: several daemons on one config each fire the same schedule;
 * the first to take the job's lease runs it, and the others, taking the lease after it, find the run
 * done and skip it.
 */
import type { Context } from '../operations/context.ts';
import { drillHistory } from '../operations/drill.ts';

/** Whether a queued run is still needed, given the job's recovery point; a reason to skip it, or undefined. */
export type SkipCheck = (recoveryPoint: Date | undefined) => Promise<string | undefined>;

/** A scheduled drill at `slot` is done once a drill report started at or after it exists. */
export async function drillDoneSince(ctx: Context, job: string, slot: number): Promise<string | undefined> {
  const last = (await drillHistory(ctx, job)).reports[0];
  return last && Date.parse(last.startedAt) >= slot ? `drill ${last.drillId} already covers the drill scheduled at ${new Date(slot).toISOString()} (another daemon ran it)` : undefined;
}

/** A scheduled run at `at` is done once a snapshot captured at or after that second exists. */
export function doneSince(at: Date): SkipCheck {
  const slot = Math.floor(at.getTime() / 1000) * 1000;
  return async (point) => (point && point.getTime() >= slot ? `a snapshot captured at ${point.toISOString()} already covers the run scheduled at ${new Date(slot).toISOString()} (another daemon took it)` : undefined);
}
