/**
 * Every metric Lifeboat exports, defined in this one file on one registry. Names follow
 * Prometheus conventions (base units, `_seconds`, `_bytes`, `_total`); the job label is
 * `backup_job` because `job` belongs to the scrape target. Timestamps are exported, not ages: ages
 * are computed in PromQL (`time() - …`), so they stay right between scrapes and across restarts.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { VERSION } from '../version.ts';

export class Metrics {
  readonly registry = new Registry();

  readonly backupLastSuccess = new Gauge({
    name: 'lifeboat_backup_last_success_timestamp_seconds',
    help: 'Completion time of the newest snapshot committed on the site.',
    labelNames: ['backup_job', 'site'] as const,
    registers: [this.registry],
  });
  readonly backupRuns = new Counter({
    name: 'lifeboat_backup_runs_total',
    help: 'Backup runs by outcome (success, failed).',
    labelNames: ['backup_job', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly backupDuration = new Histogram({
    name: 'lifeboat_backup_duration_seconds',
    help: 'Wall time of backup runs.',
    labelNames: ['backup_job'] as const,
    buckets: [1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 21600],
    registers: [this.registry],
  });
  readonly backupBytes = new Counter({
    name: 'lifeboat_backup_bytes_total',
    help: 'Bytes read from sources (stage="source") and stored per site copy (stage="stored").',
    labelNames: ['backup_job', 'stage'] as const,
    registers: [this.registry],
  });
  readonly snapshotSize = new Gauge({
    name: 'lifeboat_snapshot_size_bytes',
    help: 'Stored (compressed, encrypted) size of the newest snapshot.',
    labelNames: ['backup_job'] as const,
    registers: [this.registry],
  });
  readonly recoveryPoint = new Gauge({
    name: 'lifeboat_recovery_point_timestamp_seconds',
    help: 'Capture time of the newest snapshot committed on at least minSites sites.',
    labelNames: ['backup_job'] as const,
    registers: [this.registry],
  });
  readonly verifiedRecoveryPoint = new Gauge({
    name: 'lifeboat_verified_recovery_point_timestamp_seconds',
    help: 'Capture time of the newest snapshot that passed a restore drill.',
    labelNames: ['backup_job'] as const,
    registers: [this.registry],
  });
  readonly restoreTestLastSuccess = new Gauge({
    name: 'lifeboat_restore_test_last_success_timestamp_seconds',
    help: 'Completion time of the last passed restore drill.',
    labelNames: ['backup_job'] as const,
    registers: [this.registry],
  });
  readonly restoreTestSiteLastSuccess = new Gauge({
    name: 'lifeboat_restore_test_site_last_success_timestamp_seconds',
    help: 'Completion time of the last passed restore drill from the site.',
    labelNames: ['backup_job', 'site'] as const,
    registers: [this.registry],
  });
  readonly restoreTestRuns = new Counter({
    name: 'lifeboat_restore_test_runs_total',
    help: 'Restore drills by outcome (passed, failed, slow).',
    labelNames: ['backup_job', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly recoveryTime = new Gauge({
    name: 'lifeboat_recovery_time_seconds',
    help: 'Measured recovery time of the last drill whose checks passed (outcome passed or slow), from download start to verified restore.',
    labelNames: ['backup_job'] as const,
    registers: [this.registry],
  });
  readonly restoreTestDuration = new Histogram({
    name: 'lifeboat_restore_test_duration_seconds',
    help: 'Wall time of restore drills.',
    labelNames: ['backup_job'] as const,
    buckets: [1, 5, 15, 60, 300, 900, 1800, 3600, 7200],
    registers: [this.registry],
  });
  readonly rpoObjective = new Gauge({
    name: 'lifeboat_rpo_objective_seconds',
    help: 'Recovery point objective of the job.',
    labelNames: ['backup_job'] as const,
    registers: [this.registry],
  });
  readonly rtoObjective = new Gauge({
    name: 'lifeboat_rto_objective_seconds',
    help: 'Recovery time objective of the job.',
    labelNames: ['backup_job'] as const,
    registers: [this.registry],
  });
  readonly siteUp = new Gauge({
    name: 'lifeboat_site_up',
    help: 'Whether the last operation on the site succeeded (1) or failed (0).',
    labelNames: ['site'] as const,
    registers: [this.registry],
  });
  readonly siteErrors = new Counter({
    name: 'lifeboat_site_errors_total',
    help: 'Failed operations on a site.',
    labelNames: ['site', 'operation'] as const,
    registers: [this.registry],
  });
  readonly snapshots = new Gauge({
    name: 'lifeboat_snapshots',
    help: 'Committed snapshots of the job on the site.',
    labelNames: ['backup_job', 'site'] as const,
    registers: [this.registry],
  });
  readonly verifyLastRun = new Gauge({
    name: 'lifeboat_verify_last_run_timestamp_seconds',
    help: 'Completion time of the last scheduled verify of the job.',
    labelNames: ['backup_job'] as const,
    registers: [this.registry],
  });
  readonly verifyDamaged = new Gauge({
    name: 'lifeboat_verify_damaged_copies',
    help: 'Snapshot copies on the site that the last verify found damaged (0 when all are good).',
    labelNames: ['backup_job', 'site'] as const,
    registers: [this.registry],
  });
  readonly notifications = new Counter({
    name: 'lifeboat_notifications_total',
    help: 'Notifications (ping URLs, webhooks) by outcome: delivered, or failed after every retry.',
    labelNames: ['backup_job', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly buildInfo = new Gauge({
    name: 'lifeboat_build_info',
    help: 'Lifeboat version (value is always 1).',
    labelNames: ['version'] as const,
    registers: [this.registry],
  });

  constructor() {
    // The event-loop delay monitor wakes the process at this interval; prom-client's 10 ms default
    // alone costs an idle daemon almost 1% of a core, 100 ms about 0.1%.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 });
    // prom-client exports these gauges with a `_total` suffix, which Prometheus reserves for
    // counters (promtool check metrics rejects them); the process metrics cover the same ground.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      this.registry.removeSingleMetric(name);
    }
    this.buildInfo.set({ version: VERSION }, 1);
  }
}
