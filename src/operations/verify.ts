/**
 * Verify and heal. `verify` checks every snapshot on every site of a job: the manifest parses, and
 * each stored object is there with the size and SHA-256 its manifest gives; `deep` also decrypts and
 * decompresses to the end (that needs the identity). `heal` copies each committed snapshot to the
 * job's sites that lack it or hold a damaged copy, from a site whose copy checks out: ciphertext
 * only (no identity needed), checked as it flows, manifest last.
 */
import type { SnapshotEntry } from '../catalog/catalog.ts';
import { listSite, mergeListings } from '../catalog/catalog.ts';
import { manifestKey } from '../catalog/layout.ts';
import type { Manifest } from '../catalog/manifest.ts';
import { describeError } from '../errors.ts';
import { checkObject, copyObject, type StoredObject } from '../pipeline/check.ts';
import type { Site } from '../sites/site.ts';
import { Readable } from 'node:stream';
import type { Context } from './context.ts';

export interface SnapshotCheck {
  readonly site: string;
  readonly snapshotId: string;
  readonly ok: boolean;
  /** Why the copy is damaged; absent when it is fine. */
  readonly problem?: string;
}

export interface VerifyReport {
  readonly job: string;
  readonly deep: boolean;
  readonly checked: SnapshotCheck[];
  /** Sites that could not be listed at all. */
  readonly unreachable: { site: string; error: string }[];
  readonly ok: boolean;
}

/** The payload and extra parts of a snapshot, as its manifest describes them. */
export function storedObjects(m: Manifest): StoredObject[] {
  return [{ ...m.payload, what: 'payload' }, ...(m.parts ?? []).map((p) => ({ ...p, what: `${p.name} part` }))];
}

async function checkSnapshot(site: Site, m: Manifest, o: { deep: boolean; ctx: Context; signal: AbortSignal }): Promise<string | undefined> {
  try {
    const deep = o.deep ? { identities: await o.ctx.identities() } : undefined;
    for (const obj of storedObjects(m)) await checkObject(site, obj, { ...(deep ? { deep } : {}), signal: o.signal });
    return undefined;
  } catch (err) {
    return describeError(err);
  }
}

/**
 * Whether a snapshot that failed its check was removed while it was being read: prune (here or in
 * a daemon) removes the manifest first, then the payload. Such a snapshot is gone, not damaged,
 * and reporting it would raise a false alarm. A manifest that cannot be checked counts as present.
 */
async function removedMeanwhile(site: Site, job: string, id: string): Promise<boolean> {
  return (await site.stat(manifestKey(job, id)).catch(() => null)) === undefined;
}

export async function verify(ctx: Context, jobName: string, o: { site?: string; deep?: boolean; signal?: AbortSignal; onSnapshot?: (c: SnapshotCheck) => void } = {}): Promise<VerifyReport> {
  const job = ctx.job(jobName);
  const deep = o.deep ?? false;
  if (deep) await ctx.identities();
  const signal = o.signal ?? new AbortController().signal;
  const checked: SnapshotCheck[] = [];
  const unreachable: { site: string; error: string }[] = [];
  for (const site of await ctx.jobSites(job, o.site)) {
    const listing = await listSite(site, job.name, ctx.config.signing.trusted);
    if (listing.error) {
      unreachable.push({ site: site.name, error: listing.error.message });
      continue;
    }
    const results: SnapshotCheck[] = listing.damaged.map((d) => ({ site: site.name, snapshotId: d.id, ok: false, problem: `manifest: ${d.reason}` }));
    for (const s of listing.snapshots) {
      if (signal.aborted) break;
      const problem = await checkSnapshot(site, s.manifest, { deep, ctx, signal });
      if (problem !== undefined && (await removedMeanwhile(site, job.name, s.manifest.snapshotId))) continue;
      results.push({ site: site.name, snapshotId: s.manifest.snapshotId, ok: problem === undefined, ...(problem ? { problem } : {}) });
    }
    for (const r of results) o.onSnapshot?.(r);
    checked.push(...results);
  }
  return { job: job.name, deep, checked, unreachable, ok: unreachable.length === 0 && checked.every((c) => c.ok) };
}

export interface HealReport {
  readonly job: string;
  /** Copies made: snapshot, from which site, to which. */
  readonly copied: { snapshotId: string; from: string; to: string }[];
  readonly failed: { snapshotId: string; to: string; error: string }[];
  readonly unreachable: { site: string; error: string }[];
}

/**
 * Copies snapshots to the sites of the job that lack them. With `check`, copies already on a site
 * are verified first (full read) and replaced when damaged; without, a copy whose manifest is
 * listed counts as present (the cheap pass the daemon runs after each backup).
 */
export async function heal(ctx: Context, jobName: string, o: { check?: boolean; signal?: AbortSignal } = {}): Promise<HealReport> {
  const job = ctx.job(jobName);
  const signal = o.signal ?? new AbortController().signal;
  const sites = await ctx.jobSites(job);
  const listings = await Promise.all(sites.map((s) => listSite(s, job.name, ctx.config.signing.trusted)));
  const reachable = sites.filter((_, i) => !listings[i]!.error);
  const unreachable = listings.flatMap((l) => (l.error ? [{ site: l.site, error: l.error.message }] : []));
  const entries: SnapshotEntry[] = mergeListings(listings);
  const damaged = new Map(listings.map((l) => [l.site, new Set(l.damaged.map((d) => d.id))]));
  const copied: HealReport['copied'] = [];
  const failed: HealReport['failed'] = [];
  for (const e of entries) {
    if (signal.aborted) break;
    // Which holders have a good copy (checked when asked), and which sites need one.
    const good: Site[] = [];
    const need: Site[] = reachable.filter((s) => !e.sites.includes(s.name));
    for (const s of reachable.filter((x) => e.sites.includes(x.name))) {
      const problem = o.check ? await checkSnapshot(s, e.manifest, { deep: false, ctx, signal }) : undefined;
      if (problem === undefined) good.push(s);
      else need.push(s);
    }
    for (const s of reachable) if (damaged.get(s.name)?.has(e.id) && !need.includes(s)) need.push(s);
    if (need.length === 0) continue;
    const from = good[0];
    if (!from) {
      for (const s of need) failed.push({ snapshotId: e.id, to: s.name, error: 'no site holds a good copy' });
      continue;
    }
    for (const to of need) {
      try {
        // A damaged copy stops being a snapshot before it is replaced.
        await to.delete(manifestKey(job.name, e.id));
        for (const obj of storedObjects(e.manifest)) await copyObject(from, to, obj, signal);
        // The manifest as stored (its signature covers fields this version may not know).
        const manifest = await from.getBytes(manifestKey(job.name, e.id), 1 << 20);
        await to.put(manifestKey(job.name, e.id), Readable.from([manifest]), { signal, retain: true });
        copied.push({ snapshotId: e.id, from: from.name, to: to.name });
      } catch (err) {
        failed.push({ snapshotId: e.id, to: to.name, error: describeError(err) });
      }
    }
  }
  return { job: job.name, copied, failed, unreachable };
}
