// Object Lock on a Ceph bucket: snapshots and drill reports are written with retention and cannot
// be deleted; leases and holds stay deletable; prune keeps a locked snapshot and says until when.
import { DeleteObjectCommand, HeadObjectCommand, ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hold } from '../../src/catalog/holds.ts';
import { backup } from '../../src/operations/backup.ts';
import type { Context } from '../../src/operations/context.ts';
import { prune } from '../../src/operations/prune.ts';
import { workspace, type Workspace } from '../helpers/fixture.ts';
import { adminClient, createBucket, listKeys, s3Env } from '../helpers/s3.ts';

const env = s3Env();
const endpoint = env.endpoints[0]!;
let ws: Workspace;
let ctx: Context;
let bucket: string;

beforeAll(async () => {
  ws = await workspace();
  // GOVERNANCE, so that nothing here outlives the test cluster's reach (COMPLIANCE works the same way).
  bucket = await createBucket(endpoint, 'lock', { objectLock: true });
  ctx = await ws.context(
    `sites:\n  locked: { type: s3, endpoint: "${endpoint}", bucket: ${bucket}, prefix: lifeboat, forcePathStyle: true, accessKeyId: "\${env:LB_KEY}", secretAccessKey: "\${env:LB_SECRET}", objectLock: { mode: GOVERNANCE, days: 1 } }\njobs:\n  ledger:\n    source: { type: command, dump: [echo, ledger] }\n    retention: { keepLast: 1 }\n`,
    { ...process.env, LB_KEY: env.accessKeyId, LB_SECRET: env.secretAccessKey },
  );
});
afterAll(async () => {
  ctx?.close();
  await ws?.cleanup();
});

describe('Object Lock', () => {
  let first: string;

  it('writes payload and manifest with retention, and the stored version cannot be deleted', async () => {
    const r = await backup(ctx, 'ledger');
    expect(r.ok).toBe(true);
    first = r.snapshotId!;
    const s3 = adminClient(endpoint);
    const key = `lifeboat/jobs/ledger/snapshots/${first}/manifest.json`;
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    expect(head.ObjectLockMode).toBe('GOVERNANCE');
    expect(head.ObjectLockRetainUntilDate!.getTime()).toBeGreaterThan(Date.now() + 23 * 3_600_000);
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
    const err = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: versions.Versions![0]!.VersionId! })).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toMatch(/AccessDenied/);
  });

  it('keeps holds deletable (no retention on them)', async () => {
    const site = await ctx.site('locked');
    const hold = await new Hold([site], 'ledger', first, 'restore').take();
    const holdKey = (await listKeys(endpoint, bucket)).find((k) => k.includes('/holds/'))!;
    const head = await adminClient(endpoint).send(new HeadObjectCommand({ Bucket: bucket, Key: holdKey }));
    expect(head.ObjectLockMode).toBeUndefined();
    await hold.release();
    expect((await listKeys(endpoint, bucket)).some((k) => k.includes('/holds/'))).toBe(false);
  });

  it('prune keeps a locked snapshot that no rule keeps, and says until when', async () => {
    await new Promise((r) => setTimeout(r, 1100));
    expect((await backup(ctx, 'ledger')).ok).toBe(true);
    const p = await prune(ctx, 'ledger');
    const decision = p.sites[0]!.decisions.find((d) => d.id === first)!;
    expect(decision.keptBy).toEqual([expect.stringMatching(/^locked until 20\d\d-/)]);
    expect(p.sites[0]!.removed).toEqual([]);
    expect((await listKeys(endpoint, bucket)).filter((k) => k.endsWith('manifest.json'))).toHaveLength(2);
  });
});
