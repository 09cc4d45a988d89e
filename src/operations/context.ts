/**
 * What every operation needs from the configuration: the job, its sites, its source, and the
 * identity for restores. The CLI, the API and the daemon all build one and call the same operations.
 */
import type { Config, JobConfig } from '../config/model.ts';
import { nearest } from '../config/locate.ts';
import { readIdentityFile, type Identity } from '../crypto/keys.ts';
import { LifeboatError } from '../errors.ts';
import { createSite } from '../sites/registry.ts';
import type { Site } from '../sites/site.ts';

export class Context {
  readonly config: Config;
  private readonly siteCache = new Map<string, Site>();
  private identityCache?: Promise<Identity[]>;

  constructor(config: Config) {
    this.config = config;
  }

  job(name: string): JobConfig {
    const job = this.config.jobs.get(name);
    if (job) return job;
    const names = [...this.config.jobs.keys()];
    const guess = nearest(name, names);
    throw new LifeboatError('USAGE', `unknown job "${name}"${guess ? ` (did you mean "${guess}"?)` : ''}; jobs in ${this.config.file}: ${names.join(', ')}`);
  }

  async site(name: string): Promise<Site> {
    let site = this.siteCache.get(name);
    if (!site) {
      const cfg = this.config.sites.get(name);
      if (!cfg) throw new LifeboatError('USAGE', `unknown site "${name}"; sites in ${this.config.file}: ${[...this.config.sites.keys()].join(', ')}`);
      site = await createSite(cfg);
      this.siteCache.set(name, site);
    }
    return site;
  }

  /** The job's sites in config order, or only `only` (which must be one of them). */
  async jobSites(job: JobConfig, only?: string): Promise<Site[]> {
    if (only !== undefined && !job.sites.includes(only)) {
      throw new LifeboatError('USAGE', `site "${only}" is not a site of job "${job.name}" (its sites: ${job.sites.join(', ')})`);
    }
    return Promise.all((only === undefined ? job.sites : [only]).map((s) => this.site(s)));
  }

  identities(): Promise<Identity[]> {
    const file = this.config.encryption.identityFile;
    if (file === undefined) {
      return Promise.reject(new LifeboatError('USAGE', `encryption.identityFile is not set in ${this.config.file}: restores need the age identity (private key)`));
    }
    this.identityCache ??= readIdentityFile(file);
    return this.identityCache;
  }

  close(): void {
    for (const site of this.siteCache.values()) (site as { destroy?: () => void }).destroy?.();
  }
}
