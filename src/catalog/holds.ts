/**
 * Holds: a restore or a drill that reads a snapshot writes a small hold object beside the job on
 * every site it may read from, and prune keeps a held snapshot. Holds live on the sites, not in
 * memory, so that `lifeboat restore` on an on-call laptop protects its snapshot from the retention
 * of a daemon on another host.
 *
 * A hold expires (`expiresAt`, the holder's clock) unless renewed, so a holder that crashed never
 * pins a snapshot for ever; prune removes expired holds. Taking a hold is best effort: a site that
 * cannot be written (read-only restore credentials, an outage) is reported and the read goes on.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Readable } from 'node:stream';
import * as z from 'zod';
import { LifeboatError, describeError } from '../errors.ts';
import type { Site } from '../sites/site.ts';
import { holdKey, holdsPrefix, isSnapshotId } from './layout.ts';

export const HOLD_TTL_MS = 15 * 60_000;

const holdSchema = z.object({
  snapshotId: z.string(),
  purpose: z.string(),
  expiresAt: z.iso.datetime(),
  host: z.string(),
  pid: z.int(),
});

export type HoldRecord = z.infer<typeof holdSchema>;

export interface HoldListing {
  /** Unexpired holds by snapshot id. */
  readonly active: Map<string, HoldRecord[]>;
  /** Keys of holds that expired or cannot be read: safe to remove. */
  readonly stale: string[];
}

export class Hold {
  readonly id = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  /** Sites where the hold could not be written, with the reason. */
  readonly failed: { site: string; error: string }[] = [];
  private timer?: NodeJS.Timeout;
  private readonly sites: readonly Site[];
  private readonly job: string;
  private readonly snapshotId: string;
  private readonly purpose: string;
  private readonly ttlMs: number;

  constructor(sites: readonly Site[], job: string, snapshotId: string, purpose: string, ttlMs = HOLD_TTL_MS) {
    this.sites = sites;
    this.job = job;
    this.snapshotId = snapshotId;
    this.purpose = purpose;
    this.ttlMs = ttlMs;
  }

  private get key(): string {
    return holdKey(this.job, this.snapshotId, this.id);
  }

  private async write(site: Site): Promise<void> {
    const record: HoldRecord = { snapshotId: this.snapshotId, purpose: this.purpose, expiresAt: new Date(Date.now() + this.ttlMs).toISOString(), host: hostname(), pid: process.pid };
    await site.put(this.key, Readable.from([Buffer.from(JSON.stringify(record))]));
  }

  /** Writes the hold on every site, then renews it every third of its lifetime until released. */
  async take(): Promise<this> {
    const results = await Promise.allSettled(this.sites.map((s) => this.write(s)));
    results.forEach((r, i) => {
      if (r.status === 'rejected') this.failed.push({ site: this.sites[i]!.name, error: describeError(r.reason) });
    });
    this.timer = setInterval(() => {
      for (const s of this.sites) void this.write(s).catch(() => undefined);
    }, this.ttlMs / 3);
    this.timer.unref();
    return this;
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    await Promise.allSettled(this.sites.map((s) => s.delete(this.key)));
  }
}

/** Reads the holds of a job on one site. */
export async function listHolds(site: Site, job: string, now = Date.now()): Promise<HoldListing> {
  const active = new Map<string, HoldRecord[]>();
  const stale: string[] = [];
  for await (const obj of site.list(holdsPrefix(job))) {
    const id = obj.key.slice(holdsPrefix(job).length).split('/')[0] ?? '';
    if (!isSnapshotId(id)) continue;
    let record: HoldRecord | undefined;
    try {
      record = holdSchema.parse(JSON.parse((await site.getBytes(obj.key, 64 << 10)).toString('utf8')));
    } catch (err) {
      // A hold released while listing, or garbage, protects nothing; a site error must stop the
      // prune rather than let it remove a snapshot that may be held.
      if (err instanceof LifeboatError && err.code !== 'NOT_FOUND') throw err;
    }
    if (record === undefined || Date.parse(record.expiresAt) <= now) {
      stale.push(obj.key);
      continue;
    }
    active.set(id, [...(active.get(id) ?? []), record]);
  }
  return { active, stale };
}
