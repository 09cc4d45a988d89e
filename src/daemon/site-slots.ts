/**
 * Per-site upload limits (`sites.<name>.maxUploads`): a backup takes one upload slot on every site
 * it writes to before it runs, and gives them back when it ends. Slots are taken in name order, so
 * two jobs that share sites can never each hold a slot the other waits for. A job waiting for a
 * slot holds none of the daemon's global concurrency, so jobs on other sites go ahead.
 */
import PQueue from 'p-queue';
import type { SiteConfig } from '../config/model.ts';

export class SiteSlots {
  private readonly queues = new Map<string, PQueue>();

  constructor(sites: Iterable<SiteConfig>) {
    for (const s of sites) if (s.maxUploads !== undefined) this.queues.set(s.name, new PQueue({ concurrency: s.maxUploads }));
  }

  /** Runs `fn` holding one slot on each limited site among `sites`. */
  run<T>(sites: readonly string[], fn: () => Promise<T>): Promise<T> {
    const limited = [...new Set(sites)].filter((s) => this.queues.has(s)).sort();
    const nested = limited.reduceRight<() => Promise<T>>((inner, site) => () => this.queues.get(site)!.add(inner), fn);
    return nested();
  }

  /** Backups waiting for a slot on each limited site (for logs and tests). */
  waiting(): Record<string, number> {
    return Object.fromEntries([...this.queues].map(([name, q]) => [name, q.size]));
  }
}
