/** A scheduled `verify` inside the daemon: the operation, the metrics, the log and a notification when something is damaged. */
import type { JobConfig } from '../config/model.ts';
import { describeError } from '../errors.ts';
import { verify } from '../operations/verify.ts';
import type { RunnerDeps } from './runner-deps.ts';
import type { Operation } from './operations.ts';

export async function runVerify(d: RunnerDeps, job: JobConfig, op: Operation, signal: AbortSignal): Promise<void> {
  d.operations.start(op);
  const started = new Date();
  try {
    const r = await verify(d.ctx, job.name, { deep: job.verify?.deep ?? false, signal, onSnapshot: () => (op.progress = { bytes: op.progress.bytes + 1 }) });
    const damaged = r.checked.filter((c) => !c.ok);
    for (const site of job.sites) d.metrics.verifyDamaged.set({ backup_job: job.name, site }, damaged.filter((c) => c.site === site).length);
    for (const c of damaged) d.siteHealth.failed(c.site, 'verify', `${c.snapshotId}: ${c.problem}`);
    for (const u of r.unreachable) d.siteHealth.failed(u.site, 'verify', u.error);
    d.metrics.verifyLastRun.set({ backup_job: job.name }, Date.now() / 1000);
    d.operations.finish(op, r.ok, { checked: r.checked.length, damaged, unreachable: r.unreachable }, r.ok ? undefined : `${damaged.length} damaged cop${damaged.length === 1 ? 'y' : 'ies'}, ${r.unreachable.length} unreachable site(s)`);
    d.log[r.ok ? 'info' : 'error']({ backup_job: job.name, operation: op.id, checked: r.checked.length, damaged, unreachable: r.unreachable, deep: r.deep }, r.ok ? 'verify: every copy is good' : 'verify found damaged copies');
    if (!r.ok) {
      d.notifier.send(job.notify, {
        event: 'verify.damaged',
        outcome: 'failure',
        job: job.name,
        error: damaged.map((c) => `${c.snapshotId} on ${c.site}: ${c.problem}`).concat(r.unreachable.map((u) => `site ${u.site}: ${u.error}`)).join('; '),
        startedAt: started.toISOString(),
        finishedAt: new Date().toISOString(),
      });
    }
  } catch (err) {
    d.operations.finish(op, false, undefined, describeError(err));
    d.log.error({ backup_job: job.name, operation: op.id, error: describeError(err) }, 'verify could not run');
  }
}
