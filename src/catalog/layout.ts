/**
 * The key layout of a repository on a site — the only place that builds or parses keys.
 *
 *     lifeboat.json                                       repository marker {format, createdAt}
 *     jobs/{job}/snapshots/{snapshotId}/payload.{ext}.zst.age
 *     jobs/{job}/snapshots/{snapshotId}/{part}.{ext}.zst.age  optional extra parts (e.g. globals)
 *     jobs/{job}/snapshots/{snapshotId}/manifest.json     written last: its presence commits the snapshot
 *     jobs/{job}/drills/{drillId}.json                    drill reports
 *     jobs/{job}/holds/{snapshotId}/{holdId}.json         a restore or drill is reading the snapshot
 *     locks/{job}.json                                    leases
 *
 * The site adds its own prefix (an S3 prefix or a directory) in front of these keys.
 */
export const REPOSITORY_FORMAT = 1;
export const MARKER_KEY = 'lifeboat.json';

export type PayloadExt = 'tar' | 'pgdump' | 'sql' | 'sqlite' | 'bin';
export const PAYLOAD_EXTS: readonly PayloadExt[] = ['tar', 'pgdump', 'sql', 'sqlite', 'bin'];

const SNAPSHOT_ID = /^\d{8}T\d{6}Z-[a-z0-9]{6}$/;

export function isSnapshotId(id: string): boolean {
  return SNAPSHOT_ID.test(id);
}

export function snapshotsPrefix(job: string): string {
  return `jobs/${job}/snapshots/`;
}

export function snapshotPrefix(job: string, id: string): string {
  return `${snapshotsPrefix(job)}${id}/`;
}

export function manifestKey(job: string, id: string): string {
  return `${snapshotPrefix(job, id)}manifest.json`;
}

export function payloadKey(job: string, id: string, ext: PayloadExt): string {
  return `${snapshotPrefix(job, id)}payload.${ext}.zst.age`;
}

/** An extra part of a snapshot (e.g. PostgreSQL's roles): `{name}.{ext}.zst.age` beside the payload. */
export function partKey(job: string, id: string, name: string, ext: PayloadExt): string {
  return `${snapshotPrefix(job, id)}${name}.${ext}.zst.age`;
}

export function drillsPrefix(job: string): string {
  return `jobs/${job}/drills/`;
}

/** Drill ids have the shape of snapshot ids (the drill's start time), so reports sort by time. */
export function drillReportKey(job: string, drillId: string): string {
  return `${drillsPrefix(job)}${drillId}.json`;
}

/** The drill id of a key listed under drillsPrefix(job); undefined for keys that are not reports. */
export function parseDrillReportKey(job: string, key: string): string | undefined {
  const name = key.startsWith(drillsPrefix(job)) ? key.slice(drillsPrefix(job).length) : '';
  const id = name.endsWith('.json') ? name.slice(0, -5) : '';
  return isSnapshotId(id) ? id : undefined;
}

export function holdsPrefix(job: string): string {
  return `jobs/${job}/holds/`;
}

export function holdKey(job: string, snapshotId: string, holdId: string): string {
  return `${holdsPrefix(job)}${snapshotId}/${holdId}.json`;
}

/** The lease of a job's backups (`locks/{job}.json`), or of another kind of run (`locks/{job}.drill.json`). */
export function lockKey(job: string, kind: 'backup' | 'drill' = 'backup'): string {
  return kind === 'backup' ? `locks/${job}.json` : `locks/${job}.${kind}.json`;
}

export interface ParsedSnapshotKey {
  readonly id: string;
  readonly file: 'manifest' | 'payload' | 'other';
}

/** Parses a key listed under snapshotsPrefix(job); undefined for keys that are not ours. */
export function parseSnapshotKey(job: string, key: string): ParsedSnapshotKey | undefined {
  const prefix = snapshotsPrefix(job);
  if (!key.startsWith(prefix)) return undefined;
  const [id, name, ...rest] = key.slice(prefix.length).split('/');
  if (id === undefined || !isSnapshotId(id) || name === undefined || rest.length > 0) return undefined;
  if (name === 'manifest.json') return { id, file: 'manifest' };
  if (/^payload\.[a-z]+\.zst\.age$/.test(name)) return { id, file: 'payload' };
  return { id, file: 'other' };
}
