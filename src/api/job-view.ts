/**
 * A job as the API and the console show it: the recovery state against its objectives, worked out
 * on the server so that every client (the console, a script, a chat bot) calls the same job red.
 *
 * Levels: `ok`; `at-risk` once 80% of an objective is used up (the recovery point's age, or the
 * last measured recovery time), so that someone can act before the alert fires; `breached` past
 * the objective, with no recovery point at all, or when the last drill failed; `unknown` when there
 * is nothing to measure yet (no drill has run); `none` when the job sets no objective.
 */
import type { JobConfig } from '../config/model.ts';
import type { Daemon } from '../daemon/daemon.ts';
import type { Operation } from '../daemon/operations.ts';

export type Level = 'ok' | 'at-risk' | 'breached' | 'unknown' | 'none';

export const AT_RISK_SHARE = 0.8;
const ORDER: Level[] = ['none', 'ok', 'unknown', 'at-risk', 'breached'];

export function worst(levels: Level[]): Level {
  return levels.reduce<Level>((a, b) => (ORDER.indexOf(b) > ORDER.indexOf(a) ? b : a), 'none');
}

function against(value: number, objective: number): Level {
  if (value > objective) return 'breached';
  return value > objective * AT_RISK_SHARE ? 'at-risk' : 'ok';
}

/** The recovery point's age against the RPO objective; no recovery point at all breaches it. */
export function rpoStatus(point: Date | undefined, rpoMs: number | undefined, now: number) {
  const ageSeconds = point ? Math.max(0, (now - point.getTime()) / 1000) : null;
  const objectiveSeconds = rpoMs === undefined ? null : rpoMs / 1000;
  let level: Level = 'none';
  if (objectiveSeconds !== null) level = ageSeconds === null ? 'breached' : against(ageSeconds, objectiveSeconds);
  return { level, ageSeconds, objectiveSeconds };
}

/** The last measured recovery time (a drill whose checks passed) against the RTO objective. */
export function rtoStatus(measuredSeconds: number | undefined, rtoMs: number | undefined) {
  const objectiveSeconds = rtoMs === undefined ? null : rtoMs / 1000;
  let level: Level = 'none';
  if (objectiveSeconds !== null) level = measuredSeconds === undefined ? 'unknown' : against(measuredSeconds, objectiveSeconds);
  return { level, measuredSeconds: measuredSeconds ?? null, objectiveSeconds };
}

/** The daemon's operations by job, newest first: read once for a whole /jobs answer. */
export function operationsByJob(daemon: Daemon): Map<string, Operation[]> {
  const out = new Map<string, Operation[]>();
  for (const op of daemon.operations.list()) {
    const list = out.get(op.job);
    if (list) list.push(op);
    else out.set(op.job, [op]);
  }
  return out;
}

export function jobView(daemon: Daemon, j: JobConfig, now = Date.now(), byJob = operationsByJob(daemon)) {
  const drill = daemon.drillState(j.name);
  const last = drill?.last;
  const state = daemon.jobState(j.name);
  const rpo = rpoStatus(daemon.recoveryPoint(j.name), j.objectives.rpoMs, now);
  const measured = last && last.outcome !== 'failed' ? last.recoveryTimeSeconds : undefined;
  const rto = rtoStatus(measured, j.objectives.rtoMs);
  const ops = byJob.get(j.name) ?? [];
  // The newest finished backup that ran here (since the daemon started): why a job is red.
  const lastBackup = ops.find((o) => o.kind === 'backup' && (o.state === 'succeeded' || o.state === 'failed'));
  const drillLevel: Level = !j.drill ? 'none' : !last ? 'unknown' : last.outcome === 'failed' ? 'breached' : last.outcome === 'slow' ? 'at-risk' : 'ok';
  return {
    name: j.name,
    source: j.source.type,
    sites: j.sites,
    minSites: j.minSites,
    schedule: j.schedule ?? null,
    nextRun: daemon.nextRun(j.name)?.toISOString() ?? null,
    objectives: { rpoSeconds: rpo.objectiveSeconds, rtoSeconds: rto.objectiveSeconds },
    recoveryPoint: daemon.recoveryPoint(j.name)?.toISOString() ?? null,
    status: { level: worst([rpo.level, rto.level, drillLevel]), rpo, rto, drill: drillLevel },
    siteStates: j.sites.map((site) => {
      const error = daemon.siteHealth.lastError(site);
      return {
        site,
        snapshots: state?.snapshotsBySite[site] ?? null,
        reachable: state ? !state.unreachable.includes(site) : null,
        lastError: error ?? null,
      };
    }),
    running: ops.filter((o) => o.state === 'queued' || o.state === 'running').map((o) => ({ id: o.id, kind: o.kind, state: o.state })),
    lastBackup: lastBackup ? { state: lastBackup.state, finishedAt: lastBackup.finishedAt ?? null, error: lastBackup.error ?? null } : null,
    drill: j.drill
      ? {
          schedule: j.drill.schedule ?? null,
          nextRun: daemon.nextDrill(j.name)?.toISOString() ?? null,
          verifiedRecoveryPoint: drill?.verifiedRecoveryPoint?.toISOString() ?? null,
          last: last ? { drillId: last.drillId, outcome: last.outcome, finishedAt: last.finishedAt, site: last.site ?? null, recoveryTimeSeconds: last.recoveryTimeSeconds ?? null } : null,
        }
      : null,
  };
}
