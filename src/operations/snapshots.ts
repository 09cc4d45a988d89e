/** Listing snapshots: the catalog of a job across its sites, derived from the manifests there. */
import { listSite, mergeListings, type SiteListing, type SnapshotEntry } from '../catalog/catalog.ts';
import { LifeboatError } from '../errors.ts';
import type { Context } from './context.ts';

export interface SnapshotList {
  readonly job: string;
  readonly snapshots: SnapshotEntry[];
  readonly listings: SiteListing[];
}

export async function listSnapshots(ctx: Context, jobName: string, o: { site?: string } = {}): Promise<SnapshotList> {
  const job = ctx.job(jobName);
  const listings = await Promise.all((await ctx.jobSites(job, o.site)).map((s) => listSite(s, job.name, ctx.config.signing.trusted)));
  return { job: job.name, snapshots: mergeListings(listings), listings };
}

/** Picks `latest` or an id from a list; a clear error when it is not there. */
export function pickSnapshot(list: SnapshotList, wanted: string): SnapshotEntry {
  const unreachable = list.listings.filter((l) => l.error).map((l) => l.error!.message);
  const bare = list.listings.filter((l) => l.noRepository).map((l) => `site ${l.site}: ${l.noRepository}`);
  const note = [...(unreachable.length ? [`could not list: ${unreachable.join('; ')}`] : []), ...bare].join('; ');
  const noted = note ? ` (${note})` : '';
  if (wanted === 'latest') {
    const first = list.snapshots[0];
    if (!first) throw new LifeboatError('NOT_FOUND', `job ${list.job} has no snapshot yet${noted}`);
    return first;
  }
  const found = list.snapshots.find((s) => s.id === wanted);
  if (!found) throw new LifeboatError('NOT_FOUND', `job ${list.job} has no snapshot ${wanted}${noted}; \`lifeboat snapshots ${list.job}\` lists them`);
  return found;
}
