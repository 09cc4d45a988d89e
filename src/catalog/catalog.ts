/**
 * The catalog: which snapshots exist, derived from the sites alone (no local database). A snapshot
 * exists on a site when its manifest does; a payload without a manifest is an interrupted upload,
 * never a snapshot. Some stores list a new object a moment after writing it, so a manifest that is
 * not listed yet is simply not seen yet — never treated as missing data.
 */
import type { KeyObject } from 'node:crypto';
import { LifeboatError, describeError } from '../errors.ts';
import type { Site } from '../sites/site.ts';
import { MARKER_KEY, manifestKey, parseSnapshotKey, snapshotsPrefix } from './layout.ts';
import { parseManifest, type Manifest } from './manifest.ts';

export interface SiteSnapshot {
  readonly site: string;
  readonly manifest: Manifest;
  /** Size of the payload object as listed, if it was listed. */
  readonly payloadSize?: number;
}

export interface SnapshotEntry {
  readonly id: string;
  /** The manifest from the first site (in the order asked) that holds the snapshot. */
  readonly manifest: Manifest;
  /** Sites holding a committed copy, in the order asked. */
  readonly sites: string[];
}

export interface SiteListing {
  readonly site: string;
  readonly snapshots: SiteSnapshot[];
  /** Snapshot ids whose manifest could not be read or was invalid, with the reason. */
  readonly damaged: { id: string; reason: string }[];
  /** Set when the site could not be listed at all. */
  readonly error?: LifeboatError;
  /**
   * Set when the site holds nothing of the job and no repository marker either: a site no backup
   * has written yet, or a wrong path, bucket or prefix, or a volume that is not mounted — which an
   * on-call engineer must not take for "no snapshots".
   */
  readonly noRepository?: string;
}

const MAX_MANIFEST_BYTES = 1 << 20;

export async function readManifest(site: Site, job: string, id: string, trusted?: ReadonlyMap<string, KeyObject>): Promise<Manifest> {
  const key = manifestKey(job, id);
  const body = await site.getBytes(key, MAX_MANIFEST_BYTES);
  return parseManifest(body.toString('utf8'), `site "${site.name}": ${key}`, { job, id }, trusted);
}

/**
 * Lists the committed snapshots of a job on one site, newest first. With trusted keys, a manifest
 * without a valid signature by one of them is listed as damaged, never as a snapshot.
 */
export async function listSite(site: Site, job: string, trusted?: ReadonlyMap<string, KeyObject>): Promise<SiteListing> {
  const manifests = new Set<string>();
  const payloadSizes = new Map<string, number>();
  try {
    for await (const obj of site.list(snapshotsPrefix(job))) {
      const k = parseSnapshotKey(job, obj.key);
      if (k?.file === 'manifest') manifests.add(k.id);
      if (k?.file === 'payload') payloadSizes.set(k.id, obj.size);
    }
  } catch (err) {
    const e = err instanceof LifeboatError ? err : new LifeboatError('SITE_ERROR', `site "${site.name}": ${describeError(err)}`, { permanent: false });
    return { site: site.name, snapshots: [], damaged: [], error: e };
  }
  const snapshots: SiteSnapshot[] = [];
  const damaged: { id: string; reason: string }[] = [];
  const ids = [...manifests].sort().reverse();
  // Read manifests a few at a time: a site may hold thousands.
  for (let i = 0; i < ids.length; i += 16) {
    const batch = ids.slice(i, i + 16);
    const results = await Promise.allSettled(batch.map((id) => readManifest(site, job, id, trusted)));
    results.forEach((r, j) => {
      const id = batch[j]!;
      if (r.status === 'fulfilled') {
        const size = payloadSizes.get(id);
        snapshots.push({ site: site.name, manifest: r.value, ...(size === undefined ? {} : { payloadSize: size }) });
      } else damaged.push({ id, reason: describeError(r.reason) });
    });
  }
  if (ids.length === 0 && payloadSizes.size === 0 && (await site.stat(MARKER_KEY).catch(() => null)) === undefined) {
    const noRepository = `no Lifeboat repository at ${site.location} (no ${MARKER_KEY}): a site gets one with its first backup, and a wrong path, bucket or prefix or an unmounted volume looks the same`;
    return { site: site.name, snapshots, damaged, noRepository };
  }
  return { site: site.name, snapshots, damaged };
}

/** Merges per-site listings into one list of snapshots, newest first. */
export function mergeListings(listings: readonly SiteListing[]): SnapshotEntry[] {
  const byId = new Map<string, SnapshotEntry>();
  for (const l of listings) {
    for (const s of l.snapshots) {
      const e = byId.get(s.manifest.snapshotId);
      if (e) e.sites.push(l.site);
      else byId.set(s.manifest.snapshotId, { id: s.manifest.snapshotId, manifest: s.manifest, sites: [l.site] });
    }
  }
  // Ids sort by capture second; within one second the completion time decides.
  const key = (e: SnapshotEntry): string => `${e.id.slice(0, 16)} ${e.manifest.completedAt}`;
  return [...byId.values()].sort((a, b) => (key(a) < key(b) ? 1 : key(a) > key(b) ? -1 : 0));
}
