/**
 * Running one drill inside the daemon: the operation's progress, metrics (runs by outcome,
 * duration, and the gauges rebuilt from the reports), the log line and the notification.
 */
import type { JobConfig } from '../config/model.ts';
import { describeError } from '../errors.ts';
import { drill } from '../operations/drill.ts';
import type { Operation } from './operations.ts';
import type { RunnerDeps } from './runner-deps.ts';
import { readJobState } from './state.ts';

/**
 * Runs the drill. The operation is finished only once the job's state is read again and kept: a
 * client that sees the drill done and then asks for the job sees the report it wrote.
 */
export async function runDrill(d: RunnerDeps, job: JobConfig, op: Operation, signal: AbortSignal, request: { snapshot?: string; site?: string } = {}): Promise<void> {
  d.operations.start(op);
  const started = Date.now();
  let outcome = 'failed';
  let seconds: number | undefined;
  let finish: () => void;
  try {
    const { report, unwritten } = await drill(d.ctx, job.name, {
      ...request,
      signal,
      onProgress: (p) => (op.progress = { bytes: p.bytes ?? op.progress.bytes, ...(p.total !== undefined ? { totalBytes: p.total } : {}), phase: p.phase }),
    });
    outcome = report.outcome;
    seconds = (Date.now() - started) / 1000;
    const failedChecks = report.checks.filter((c) => !c.passed).map((c) => `${c.name}: observed ${c.observed}`);
    finish = () => d.operations.finish(op, report.outcome === 'passed', report, report.outcome === 'passed' ? undefined : (report.error ?? (failedChecks.join('; ') || 'over the RTO objective')));
    d.log[report.outcome === 'passed' ? 'info' : 'error'](
      { backup_job: job.name, operation: op.id, drill: report.drillId, snapshot: report.snapshotId, site: report.site, outcome: report.outcome, recoveryTimeSeconds: report.recoveryTimeSeconds, error: report.error, failedChecks, unwritten },
      `drill ${report.outcome}`,
    );
    d.notifier.send(job.notify, {
      event: `drill.${report.outcome}`,
      outcome: report.outcome === 'passed' ? 'success' : 'failure',
      job: job.name,
      ...(report.snapshotId ? { snapshotId: report.snapshotId } : {}),
      ...(report.outcome === 'passed' ? {} : { error: report.error ?? (failedChecks.join('; ') || `recovery took ${report.recoveryTimeSeconds} s, over the objective of ${report.rtoObjectiveSeconds} s`) }),
      startedAt: report.startedAt,
      finishedAt: report.finishedAt,
      details: { drillId: report.drillId, site: report.site, recoveryTimeSeconds: report.recoveryTimeSeconds, checks: report.checks },
    });
  } catch (err) {
    // Only usage problems reach here (no drill section, an unknown site); drills report the rest.
    finish = () => d.operations.finish(op, false, undefined, describeError(err));
    d.log.error({ backup_job: job.name, operation: op.id, error: describeError(err) }, 'drill could not run');
  }
  const state = await readJobState(d.ctx, job, d.metrics, false).catch((err: unknown) => void d.log.warn({ backup_job: job.name, error: describeError(err) }, 'cannot refresh state'));
  if (state) d.remember(job.name, state);
  // Counted once the gauges are refreshed from the new report: a scrape that sees this run also
  // sees the verified recovery point and recovery time it measured.
  d.metrics.restoreTestRuns.inc({ backup_job: job.name, outcome });
  if (seconds !== undefined) d.metrics.restoreTestDuration.observe({ backup_job: job.name }, seconds);
  finish();
}
