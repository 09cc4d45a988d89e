/** What the daemon hands the code that runs one backup, drill or verify. */
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/metrics.ts';
import type { Notifier } from '../notify/notifier.ts';
import type { Context } from '../operations/context.ts';
import type { Operations } from './operations.ts';
import type { SiteHealth } from './site-health.ts';
import type { JobState } from './state.ts';

export interface RunnerDeps {
  readonly ctx: Context;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly notifier: Notifier;
  readonly operations: Operations;
  readonly siteHealth: SiteHealth;
  /** Keeps a job's state as read from its sites, for the API, the console and the metrics. */
  readonly remember: (job: string, state: JobState) => void;
  /** A backup of `job` committed a snapshot created at `at` (a newer recovery point). */
  readonly committed: (job: string, at: Date) => void;
}
