/**
 * Notifications for people without Prometheus: after a run, each of the job's `notify` targets
 * whose `on` list matches the outcome gets the event — a `ping` target a GET of its URL (with
 * "/fail" appended on failure, the healthchecks.io convention), a `webhook` target a JSON POST.
 *
 * Delivery never blocks a backup: `send` returns at once and each delivery runs on its own, with a
 * timeout per attempt and retries with backoff. Only 2xx counts as delivered. URLs and header
 * values may carry secrets (a ping UUID, a bearer token), so logs name a target by its type and
 * origin only.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { NotifyTarget } from '../config/model.ts';
import { describeError } from '../errors.ts';
import { VERSION } from '../version.ts';

export interface NotifyEvent {
  /** `backup.succeeded`, `backup.failed`, … */
  readonly event: string;
  readonly outcome: 'success' | 'failure';
  readonly job: string;
  readonly snapshotId?: string;
  readonly error?: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  /** Anything else worth telling (sites committed and failed, timings). */
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface NotifierOptions {
  readonly attempts: number;
  readonly timeoutMs: number;
  /** Delay before the second attempt; doubled for each further one. */
  readonly retryDelayMs: number;
  readonly onResult?: (job: string, delivered: boolean) => void;
}

const DEFAULTS: NotifierOptions = { attempts: 4, timeoutMs: 10_000, retryDelayMs: 2_000 };

/** How a target is named in logs: its type and origin, never its path, query or headers. */
export function describeTarget(t: NotifyTarget): string {
  return `${t.type} ${new URL(t.url).origin}`;
}

export class Notifier {
  private readonly log: Logger;
  private readonly o: NotifierOptions;
  private readonly pending = new Set<Promise<void>>();
  private readonly stop = new AbortController();

  constructor(log: Logger, o: Partial<NotifierOptions> = {}) {
    this.log = log;
    this.o = { ...DEFAULTS, ...o };
  }

  /** Starts delivering `e` to every matching target and returns at once. */
  send(targets: readonly NotifyTarget[], e: NotifyEvent): void {
    for (const t of targets) {
      if (!t.on.includes(e.outcome)) continue;
      const p = this.deliver(t, e).finally(() => this.pending.delete(p));
      this.pending.add(p);
    }
  }

  private async deliver(t: NotifyTarget, e: NotifyEvent): Promise<void> {
    let last = '';
    for (let attempt = 1; attempt <= this.o.attempts && !this.stop.signal.aborted; attempt++) {
      if (attempt > 1) await this.sleep(this.o.retryDelayMs * 2 ** (attempt - 2));
      try {
        const res = await fetch(...request(t, e, AbortSignal.any([this.stop.signal, AbortSignal.timeout(this.o.timeoutMs)])));
        await res.body?.cancel();
        if (res.ok) {
          this.log.info({ backup_job: e.job, event: e.event, notify: describeTarget(t), attempt }, 'notification delivered');
          this.o.onResult?.(e.job, true);
          return;
        }
        last = `HTTP ${res.status}`;
      } catch (err) {
        last = (err as Error).name === 'TimeoutError' ? `no answer within ${this.o.timeoutMs / 1000} s` : describeError((err as Error).cause ?? err);
      }
      this.log.warn({ backup_job: e.job, event: e.event, notify: describeTarget(t), attempt, of: this.o.attempts, error: last }, 'notification not delivered');
    }
    this.log.error({ backup_job: e.job, event: e.event, notify: describeTarget(t), error: last }, 'notification failed after every attempt');
    this.o.onResult?.(e.job, false);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms * (0.5 + Math.random() * 0.5));
      this.stop.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
  }

  /** Gives deliveries in flight up to `ms` to finish, then abandons them (shutdown). */
  async flush(ms: number): Promise<void> {
    const deadline = new Promise<void>((r) => setTimeout(r, ms).unref());
    await Promise.race([Promise.allSettled([...this.pending]), deadline]);
    this.stop.abort();
  }
}

function request(t: NotifyTarget, e: NotifyEvent, signal: AbortSignal): [string, RequestInit] {
  if (t.type === 'ping') {
    const url = new URL(t.url);
    if (e.outcome === 'failure') url.pathname = `${url.pathname.replace(/\/$/, '')}/fail`;
    return [url.toString(), { method: 'GET', signal, redirect: 'follow' }];
  }
  const body = JSON.stringify({ ...e, host: hostname(), lifeboat: VERSION });
  return [t.url, { method: 'POST', signal, headers: { 'content-type': 'application/json', 'user-agent': `lifeboat/${VERSION}`, ...t.headers }, body }];
}
