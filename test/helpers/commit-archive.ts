/** Commits a ready-made tar archive as a snapshot of a files job, as if a files backup had produced it. */
import { Readable } from 'node:stream';
import { newSnapshotId } from '../../src/catalog/snapshot-id.ts';
import type { Context } from '../../src/operations/context.ts';
import { backupPipeline } from '../../src/pipeline/backup.ts';
import type { Source } from '../../src/sources/source.ts';

/** Stores `archive` (encrypted, with a manifest) on `site` as a snapshot of `job`; returns its id. */
export async function commitArchive(ctx: Context, job: string, site: string, archive: Buffer): Promise<string> {
  const source: Source = {
    kind: 'files',
    ext: 'tar',
    targetKind: 'a directory',
    dump: () => ({ stream: Readable.from([archive]), done: Promise.resolve({}) }),
    checkTarget: async () => [],
    overlapsSource: async () => undefined,
    restore: async () => ({}),
  };
  const snapshotId = newSnapshotId();
  await backupPipeline({
    job,
    snapshotId,
    source,
    sites: [await ctx.site(site)],
    minSites: 1,
    recipients: ctx.config.encryption.recipients,
    compressionLevel: 3,
    signal: new AbortController().signal,
  });
  return snapshotId;
}
