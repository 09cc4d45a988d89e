/**
 * Sites that one failure would take together. Each site counts as a copy of a snapshot
 * (minSites), but two folders on one disk, or two prefixes of one bucket, are one copy for the
 * failures backups are for: the disk or host, the bucket or its account. Reported as warnings,
 * not errors: trying Lifeboat with two local folders is what the example config does.
 */
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Config, SiteConfig } from './model.ts';

/** The device of `path`, or of its nearest existing parent folder (a site's folder is made by its first backup). */
async function deviceOf(path: string): Promise<number | undefined> {
  for (let p = path; ; p = dirname(p)) {
    const st = await stat(p).catch(() => undefined);
    if (st) return st.dev;
    if (dirname(p) === p) return undefined;
  }
}

/** What the site's copies stand on: a filesystem, or a bucket; undefined when that cannot be told. */
async function groundOf(site: SiteConfig): Promise<string | undefined> {
  if (site.type === 's3') return `bucket ${site.endpoint ?? 'aws'}/${site.bucket}`;
  const dev = await deviceOf(site.path);
  return dev === undefined ? undefined : `device ${dev}`;
}

export async function sitesSharingFailures(config: Config): Promise<string[]> {
  const grounds = new Map<string, string>();
  for (const site of config.sites.values()) {
    const ground = await groundOf(site);
    if (ground !== undefined) grounds.set(site.name, ground);
  }
  // Per pair of sites on one ground, the jobs that keep a copy on both.
  const pairs = new Map<string, { a: string; b: string; jobs: string[] }>();
  for (const job of config.jobs.values()) {
    const known = job.sites.filter((s) => grounds.has(s)).sort();
    known.forEach((a, i) => {
      for (const b of known.slice(i + 1)) {
        if (grounds.get(a) !== grounds.get(b)) continue;
        const pair = pairs.get(`${a}\0${b}`) ?? { a, b, jobs: [] };
        pair.jobs.push(job.name);
        pairs.set(`${a}\0${b}`, pair);
      }
    });
  }
  return [...pairs.values()].map(({ a, b, jobs }) => {
    const copies = `which job(s) ${jobs.join(', ')} count as two copies`;
    const site = config.sites.get(a)!;
    return site.type === 's3'
      ? `sites "${a}" and "${b}" are prefixes of one bucket (${site.bucket}), ${copies}: losing the bucket or its account loses both; use separate buckets, ideally with separate providers or regions`
      : `sites "${a}" and "${b}" are folders on one filesystem, ${copies}: one disk or host failure loses both; put them on different disks or hosts, or use S3 sites`;
  });
}
