/**
 * Running one backup inside the daemon: the operation, metrics (runs, duration, bytes, site
 * health), the log line, the notification, healing and retention after a success, and the job's
 * state read back from the sites. Resolves with whether a retry is worth it (some site failed for
 * a passing reason) and that state (undefined if it cannot be read).
 */
import type { JobConfig } from '../config/model.ts';
import { LifeboatError, describeError } from '../errors.ts';
import { backup } from '../operations/backup.ts';
import { applyRetention, healSites } from './after-backup.ts';
import type { Operation } from './operations.ts';
import type { RunnerDeps } from './runner-deps.ts';
import { readJobState, type JobState } from './state.ts';

export async function runBackup(d: RunnerDeps, job: JobConfig, ac: AbortController, op: Operation): Promise<{ retry: boolean; state?: JobState }> {
  const started = Date.now();
  let retry = false;
  const timeout = job.timeoutMs === undefined ? undefined : setTimeout(() => ac.abort(new Error('timeout')), job.timeoutMs);
  try {
    const r = await backup(d.ctx, job.name, { signal: ac.signal, onProgress: (p) => (op.progress = { bytes: p.sourceBytes }) });
    // The new snapshot is the recovery point now (the catalog read at the end confirms it), kept
    // before the operation is finished: a client that sees the backup done and then asks for the
    // job sees it, as does a scrape that counts this run. Healing, retention and that read follow.
    if (r.ok && r.manifest) {
      d.metrics.recoveryPoint.set({ backup_job: job.name }, Date.parse(r.manifest.createdAt) / 1000);
      d.committed(job.name, new Date(r.manifest.createdAt));
    }
    d.operations.finish(op, r.ok, { snapshotId: r.snapshotId, committed: r.committed, failed: r.failed, seconds: r.seconds });
    const seconds = (Date.now() - started) / 1000;
    d.metrics.backupDuration.observe({ backup_job: job.name }, seconds);
    d.metrics.backupRuns.inc({ backup_job: job.name, outcome: r.ok ? 'success' : 'failed' });
    if (r.manifest) {
      d.metrics.backupBytes.inc({ backup_job: job.name, stage: 'source' }, r.manifest.payload.plaintext.bytes);
      d.metrics.backupBytes.inc({ backup_job: job.name, stage: 'stored' }, r.manifest.payload.ciphertext.bytes * r.committed.length);
    }
    for (const f of r.failed) {
      d.siteHealth.failed(f.site, 'backup', f.error);
      d.metrics.siteErrors.inc({ site: f.site, operation: 'backup' });
      d.metrics.siteUp.set({ site: f.site }, 0);
    }
    for (const s of r.committed) d.metrics.siteUp.set({ site: s }, 1);
    d.log[r.ok ? 'info' : 'error'](
      { backup_job: job.name, operation: op.id, snapshot: r.snapshotId, committed: r.committed, failed: r.failed, seconds },
      r.ok ? 'backup committed' : 'backup failed: too few sites committed',
    );
    d.notifier.send(job.notify, {
      event: r.ok ? 'backup.succeeded' : 'backup.failed',
      outcome: r.ok ? 'success' : 'failure',
      job: job.name,
      snapshotId: r.snapshotId,
      ...(r.ok ? {} : { error: `committed on ${r.committed.length} site(s), ${job.minSites} required` }),
      startedAt: new Date(started).toISOString(),
      finishedAt: new Date().toISOString(),
      details: { committed: r.committed, failed: r.failed.map((f) => ({ site: f.site, error: f.error })), seconds },
    });
    if (r.ok) {
      await healSites(d.ctx, d.log, job, d.siteHealth);
      await applyRetention(d.ctx, d.log, job);
    }
    retry = !r.ok && r.failed.some((f) => !f.permanent);
  } catch (err) {
    d.operations.finish(op, false, undefined, describeError(err));
    d.metrics.backupRuns.inc({ backup_job: job.name, outcome: 'failed' });
    d.metrics.backupDuration.observe({ backup_job: job.name }, (Date.now() - started) / 1000);
    d.log.error({ backup_job: job.name, operation: op.id, error: describeError(err) }, ac.signal.aborted ? 'backup aborted' : 'backup failed');
    d.notifier.send(job.notify, {
      event: 'backup.failed',
      outcome: 'failure',
      job: job.name,
      error: describeError(err),
      startedAt: new Date(started).toISOString(),
      finishedAt: new Date().toISOString(),
    });
    retry = !ac.signal.aborted && err instanceof LifeboatError && !err.permanent;
  } finally {
    if (timeout) clearTimeout(timeout);
  }
  const state = await readJobState(d.ctx, job, d.metrics, false).catch((err: unknown) => void d.log.warn({ backup_job: job.name, error: describeError(err) }, 'cannot refresh state'));
  return { retry, ...(state ? { state } : {}) };
}
