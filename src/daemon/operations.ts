/**
 * Operations the daemon runs on request or on schedule (backups, restores, drills), with an id, a state
 * and progress, so that the API can answer "how far is it" and "how did it end". Kept in memory:
 * the lasting record of what happened is on the sites (manifests) and in the metrics.
 */
import { randomUUID } from 'node:crypto';

export type OperationState = 'queued' | 'running' | 'succeeded' | 'failed';

export interface Operation {
  readonly id: string;
  readonly kind: 'backup' | 'restore' | 'drill' | 'verify';
  readonly job: string;
  readonly reason: string;
  state: OperationState;
  readonly queuedAt: string;
  startedAt?: string;
  finishedAt?: string;
  progress: { bytes: number; totalBytes?: number; phase?: string };
  result?: unknown;
  error?: string;
}

const KEEP = 500;

export class Operations {
  private readonly ops = new Map<string, Operation>();

  create(kind: Operation['kind'], job: string, reason: string): Operation {
    const op: Operation = { id: randomUUID(), kind, job, reason, state: 'queued', queuedAt: new Date().toISOString(), progress: { bytes: 0 } };
    this.ops.set(op.id, op);
    // Forget the oldest finished operations beyond a bound.
    if (this.ops.size > KEEP) {
      for (const [id, o] of this.ops) {
        if (this.ops.size <= KEEP) break;
        if (o.state === 'succeeded' || o.state === 'failed') this.ops.delete(id);
      }
    }
    return op;
  }

  get(id: string): Operation | undefined {
    return this.ops.get(id);
  }

  /** Operations newest first, those of one job when `job` is given. */
  list(o: { job?: string; limit?: number } = {}): Operation[] {
    const out: Operation[] = [];
    for (const op of [...this.ops.values()].reverse()) {
      if (o.job !== undefined && op.job !== o.job) continue;
      out.push(op);
      if (out.length >= (o.limit ?? KEEP)) break;
    }
    return out;
  }

  start(op: Operation): void {
    op.state = 'running';
    op.startedAt = new Date().toISOString();
  }

  finish(op: Operation, ok: boolean, result: unknown, error?: string): void {
    op.state = ok ? 'succeeded' : 'failed';
    op.finishedAt = new Date().toISOString();
    op.result = result;
    if (error !== undefined) op.error = error;
  }
}
