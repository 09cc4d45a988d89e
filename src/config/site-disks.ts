/**
 * fs sites that share one filesystem. Each site counts as a copy of a snapshot (minSites), but two
 * folders on one disk are one copy for the failures backups are for: the disk, the host. Reported
 * as a warning, not an error: trying Lifeboat with two local folders is what the example does.
 */
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Config } from './model.ts';

/** The device of `path`, or of its nearest existing parent folder (a site's folder is made by its first backup). */
async function deviceOf(path: string): Promise<number | undefined> {
  for (let p = path; ; p = dirname(p)) {
    const st = await stat(p).catch(() => undefined);
    if (st) return st.dev;
    if (dirname(p) === p) return undefined;
  }
}

export async function sitesSharingDisks(config: Config): Promise<string[]> {
  const devices = new Map<string, number>();
  for (const site of config.sites.values()) {
    if (site.type !== 'fs') continue;
    const dev = await deviceOf(site.path);
    if (dev !== undefined) devices.set(site.name, dev);
  }
  // Per pair of sites on one device, the jobs that keep a copy on both.
  const pairs = new Map<string, { a: string; b: string; jobs: string[] }>();
  for (const job of config.jobs.values()) {
    const local = job.sites.filter((s) => devices.has(s)).sort();
    local.forEach((a, i) => {
      for (const b of local.slice(i + 1)) {
        if (devices.get(a) !== devices.get(b)) continue;
        const pair = pairs.get(`${a}\0${b}`) ?? { a, b, jobs: [] };
        pair.jobs.push(job.name);
        pairs.set(`${a}\0${b}`, pair);
      }
    });
  }
  return [...pairs.values()].map(
    ({ a, b, jobs }) =>
      `sites "${a}" and "${b}" are folders on one filesystem, which job(s) ${jobs.join(', ')} count as two copies: one disk or host failure loses both; put them on different disks or hosts, or use S3 sites`,
  );
}
