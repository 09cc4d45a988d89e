/**
 * Drill metrics rebuilt from the drill reports on the sites, so that they are right after a
 * restart and after drills run by the CLI: the last passed drill (per job and per site), the
 * verified recovery point (the newest snapshot a drill passed on), and the last measured recovery
 * time (of a drill whose checks passed, slow or not).
 */
import type { DrillReport } from '../catalog/drill-report.ts';
import type { Metrics } from '../metrics/metrics.ts';

const seconds = (iso: string): number => Date.parse(iso) / 1000;

export interface DrillState {
  /** Capture time of the newest snapshot that passed a drill. */
  readonly verifiedRecoveryPoint?: Date;
  readonly last?: DrillReport;
}

/** Sets the job's drill gauges from its reports (newest first) and returns the state they show. */
export function applyDrillReports(metrics: Metrics, job: string, reports: readonly DrillReport[]): DrillState {
  const passed = reports.filter((r) => r.outcome === 'passed');
  const lastPassed = passed[0];
  if (lastPassed) metrics.restoreTestLastSuccess.set({ backup_job: job }, seconds(lastPassed.finishedAt));
  const perSite = new Map<string, DrillReport>();
  for (const r of passed) if (r.site !== undefined && !perSite.has(r.site)) perSite.set(r.site, r);
  for (const [site, r] of perSite) metrics.restoreTestSiteLastSuccess.set({ backup_job: job, site }, seconds(r.finishedAt));
  const verified = passed.reduce<string | undefined>((a, r) => (r.snapshotCreatedAt !== undefined && (a === undefined || r.snapshotCreatedAt > a) ? r.snapshotCreatedAt : a), undefined);
  if (verified !== undefined) metrics.verifiedRecoveryPoint.set({ backup_job: job }, seconds(verified));
  const measured = reports.find((r) => r.outcome !== 'failed' && r.recoveryTimeSeconds !== undefined);
  if (measured) metrics.recoveryTime.set({ backup_job: job }, measured.recoveryTimeSeconds!);
  return { ...(verified !== undefined ? { verifiedRecoveryPoint: new Date(verified) } : {}), ...(reports[0] ? { last: reports[0] } : {}) };
}
