/**
 * Job leases: no two Lifeboat processes on one config (daemons, or a backup or heal run by hand)
 * run the same job at the same time. Before a run, a process writes `locks/{job}.json` with a conditional write (S3 `If-None-Match: *`; on an `fs`
 * site an exclusive hard link) on the first of the job's sites that answers. It renews the lease
 * while it runs and deletes it afterwards; a lease whose holder died expires after its TTL and is
 * then taken over (deleted, and written again conditionally, so that of two takers one wins).
 *
 * A lease whose holder ran on this host and is gone (killed, crashed) is taken over at once.
 *
 * A site that does not answer is skipped for the next one; when none answers the run goes ahead
 * without a lease (it would fail anyway, and two daemons cut off from every site cannot collide on
 * them). Expiry compares the holder's clock with the reader's: keep the TTL well above any skew.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Readable } from 'node:stream';
import * as z from 'zod';
import { LifeboatError } from '../errors.ts';
import { pidNamespace } from '../pid.ts';
import type { Site } from '../sites/site.ts';
import { lockKey } from './layout.ts';

const leaseSchema = z.object({
  holder: z.string(),
  job: z.string(),
  acquiredAt: z.string(),
  expiresAt: z.iso.datetime(),
  // Where the holder runs (leases written before these fields existed lack them).
  host: z.string().optional(),
  pid: z.int().optional(),
  pidNamespace: z.string().optional(),
});
type LeaseRecord = z.infer<typeof leaseSchema>;

/** This process, as lease holders are named: host, pid and a random tag. */
export const HOLDER = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

/** The process that writes a lease: its host, its pid, and the pid namespace that pid is valid in. */
export interface LeaseProcess {
  readonly host: string;
  readonly pid: number;
  readonly pidNamespace?: string;
}

/** This process. The namespace is Linux's (`pid:[inode]`); elsewhere there is none. */
function thisProcess(): LeaseProcess {
  // Without one (not Linux, /proc not mounted), no holder is ever judged dead here.
  const ns = pidNamespace();
  return { host: hostname(), pid: process.pid, ...(ns ? { pidNamespace: `pid:[${ns}]` } : {}) };
}

/**
 * Whether an unexpired lease's holder is a process of this host, in this pid namespace, that no
 * longer runs: a backup that was killed, whose next run need not wait out the lease. Only then is
 * the pid known to mean the same process (containers on one host may share its name but not its
 * pids). A pid reused since by another process counts as alive: the lease then expires as usual.
 */
function deadHere(lease: LeaseRecord, here: LeaseProcess): boolean {
  if (lease.host !== here.host || lease.pid === undefined || lease.pid === here.pid) return false;
  if (lease.pidNamespace === undefined || lease.pidNamespace !== here.pidNamespace) return false;
  try {
    process.kill(lease.pid, 0);
    return false;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export type LeaseResult = { readonly ok: true; readonly site?: string } | { readonly ok: false; readonly holder: string; readonly expiresAt: string };

export class JobLease {
  private readonly sites: readonly Site[];
  private readonly key: string;
  private readonly job: string;
  private readonly ttlMs: number;
  private readonly holder: string;
  private site?: Site;
  private timer?: NodeJS.Timeout;
  private acquiredAt = '';

  private readonly process: LeaseProcess;

  constructor(sites: readonly Site[], job: string, kind: 'backup' | 'drill', ttlMs: number, holder = HOLDER, by: LeaseProcess = thisProcess()) {
    this.sites = sites;
    this.job = job;
    this.key = lockKey(job, kind);
    this.ttlMs = ttlMs;
    this.holder = holder;
    this.process = by;
  }

  private body(): Readable {
    const r: LeaseRecord = { holder: this.holder, job: this.job, acquiredAt: this.acquiredAt, expiresAt: new Date(Date.now() + this.ttlMs).toISOString(), ...this.process };
    return Readable.from([Buffer.from(JSON.stringify(r))]);
  }

  private async read(site: Site): Promise<LeaseRecord | undefined> {
    try {
      return leaseSchema.parse(JSON.parse((await site.getBytes(this.key, 64 << 10)).toString('utf8')));
    } catch (err) {
      if (err instanceof LifeboatError && err.code !== 'NOT_FOUND' && err.code !== 'INTEGRITY') throw err;
      return undefined; // gone, or not a lease: treated as expired
    }
  }

  private async tryPut(site: Site): Promise<boolean> {
    try {
      await site.put(this.key, this.body(), { ifNoneMatch: true });
      return true;
    } catch (err) {
      if (err instanceof LifeboatError && err.code === 'CONFLICT') return false;
      throw err;
    }
  }

  /** Takes the lease, or says who holds it. */
  async acquire(): Promise<LeaseResult> {
    this.acquiredAt = new Date().toISOString();
    for (const site of this.sites) {
      try {
        if (!(await this.tryPut(site))) {
          const current = await this.read(site);
          if (current && Date.parse(current.expiresAt) > Date.now() && !deadHere(current, this.process)) return { ok: false, holder: current.holder, expiresAt: current.expiresAt };
          // Expired, or its holder is known dead: remove it and race for it once.
          await site.delete(this.key);
          if (!(await this.tryPut(site))) {
            const winner = await this.read(site);
            return { ok: false, holder: winner?.holder ?? 'another daemon', expiresAt: winner?.expiresAt ?? new Date().toISOString() };
          }
        }
        this.site = site;
        return { ok: true, site: site.name };
      } catch {
        // This site does not answer: the next one decides.
      }
    }
    return { ok: true };
  }

  /** Renews every third of the TTL; calls `onLost` if another holder took the lease meanwhile. */
  keepAlive(onLost: (why: string) => void): void {
    const site = this.site;
    if (!site) return;
    this.timer = setInterval(() => {
      void (async () => {
        const current = await this.read(site);
        if (current && current.holder !== this.holder) {
          clearInterval(this.timer);
          return onLost(`the lease of job ${this.job} was taken over by ${current.holder}`);
        }
        await site.put(this.key, this.body());
      })().catch(() => {
        // A passing site error: the next renewal tries again, well before expiry.
      });
    }, this.ttlMs / 3);
    this.timer.unref();
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    const site = this.site;
    if (!site) return;
    try {
      const current = await this.read(site);
      if (current?.holder === this.holder) await site.delete(this.key);
    } catch {
      // It expires by itself.
    }
  }
}
