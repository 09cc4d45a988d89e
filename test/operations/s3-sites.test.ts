// A files job over two real S3 sites: two Ceph RADOS gateways, each an independent endpoint that
// can fail on its own. (A gateway killed mid-upload is in test/faults.)
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payloadKey } from '../../src/catalog/layout.ts';
import { backup } from '../../src/operations/backup.ts';
import { restore } from '../../src/operations/restore.ts';
import { workspace, type Workspace } from '../helpers/fixture.ts';
import { adminClient, createBucket, dropBucket, s3Env } from '../helpers/s3.ts';
import { describeTree, makeOddTree } from '../helpers/tree.ts';

const env = { LB_KEY: s3Env().accessKeyId, LB_SECRET: s3Env().secretAccessKey, LB_BAD: 'definitely-not-the-secret' };
let ws: Workspace;
const buckets: [string, string][] = [];

function s3Yaml(name: string, endpoint: string, bucket: string, secret = 'LB_SECRET'): string {
  return `  ${name}: { type: s3, endpoint: "${endpoint}", bucket: ${bucket}, prefix: lifeboat, forcePathStyle: true, accessKeyId: "\${env:LB_KEY}", secretAccessKey: "\${env:${secret}}", partSizeMiB: 5 }\n`;
}

async function bucketOn(endpoint: string): Promise<string> {
  const b = await createBucket(endpoint);
  buckets.push([endpoint, b]);
  return b;
}

async function getObject(endpoint: string, bucket: string, key: string): Promise<Buffer> {
  const res = await adminClient(endpoint).send(new GetObjectCommand({ Bucket: bucket, Key: `lifeboat/${key}` }));
  return buffer(res.Body as Readable);
}


beforeAll(async () => {
  ws = await workspace();
  await makeOddTree(join(ws.dir, 'data'));
});
afterAll(async () => {
  for (const [e, b] of buckets) await dropBucket(e, b).catch(() => {});
  await ws?.cleanup();
});

describe('files job over two Ceph S3 sites', () => {
  it('commits identical payloads on both sites and restores from them', async () => {
    const [e1, e2] = s3Env().endpoints as [string, string];
    const [b1, b2] = [await bucketOn(e1), await bucketOn(e2)];
    const ctx = await ws.context(`sites:\n${s3Yaml('dc1', e1, b1)}${s3Yaml('dc2', e2, b2)}jobs:\n  tree:\n    source: { type: files, paths: [./data] }\n`, env);
    const r = await backup(ctx, 'tree');
    expect(r.committed).toEqual(['dc1', 'dc2']);
    const key = payloadKey('tree', r.snapshotId, 'tar');
    const [p1, p2] = [await getObject(e1, b1, key), await getObject(e2, b2, key)];
    expect(p1.equals(p2)).toBe(true);
    expect(createHash('sha256').update(p1).digest('hex')).toBe(r.manifest!.payload.ciphertext.sha256);
    const target = join(ws.dir, 's3-restored');
    await restore(ctx, 'tree', { snapshot: 'latest', target, site: 'dc2' });
    expect(await describeTree(target)).toEqual(await describeTree(join(ws.dir, 'data')));
    ctx.close();
  });

  it('with minSites 1, a site that is down at the start is reported and the other commits', async () => {
    const [e1] = s3Env().endpoints as [string];
    const b1 = await bucketOn(e1);
    const ctx = await ws.context(
      `sites:\n${s3Yaml('up', e1, b1)}${s3Yaml('down', 'http://127.0.0.1:9', 'nobucket')}jobs:\n  tree:\n    source: { type: files, paths: [./data] }\n    minSites: 1\n`,
      env,
    );
    const r = await backup(ctx, 'tree');
    expect(r.ok).toBe(true);
    expect(r.committed).toEqual(['up']);
    expect(r.failed).toEqual([{ site: 'down', error: expect.stringMatching(/^site "down": .*cannot reach the endpoint/), permanent: false }]);
    ctx.close();
  });

  it('a wrong S3 secret fails the backup with an error that names the site and not the secret', async () => {
    const [e1, e2] = s3Env().endpoints as [string, string];
    const [b1, b2] = [await bucketOn(e1), await bucketOn(e2)];
    const ctx = await ws.context(`sites:\n${s3Yaml('good', e1, b1)}${s3Yaml('dc2', e2, b2, 'LB_BAD')}jobs:\n  tree:\n    source: { type: files, paths: [./data] }\n`, env);
    const err = await backup(ctx, 'tree').catch((e: unknown) => e);
    expect(String(err)).toMatch(/site "dc2": .*access denied \((SignatureDoesNotMatch|HTTP 403)\): check the site's accessKeyId and secretAccessKey/);
    expect(String(err)).not.toContain(env.LB_BAD);
    ctx.close();
  });

  it('a flipped byte on one site: the restore falls back to the other and says so', async () => {
    const [e1, e2] = s3Env().endpoints as [string, string];
    const [b1, b2] = [await bucketOn(e1), await bucketOn(e2)];
    const ctx = await ws.context(`sites:\n${s3Yaml('dc1', e1, b1)}${s3Yaml('dc2', e2, b2)}jobs:\n  tree:\n    source: { type: files, paths: [./data] }\n`, env);
    const r = await backup(ctx, 'tree');
    const key = payloadKey('tree', r.snapshotId, 'tar');
    const bytes = await getObject(e1, b1, key);
    bytes[bytes.length - 30]! ^= 0x80;
    await adminClient(e1).send(new PutObjectCommand({ Bucket: b1, Key: `lifeboat/${key}`, Body: bytes }));
    const said: string[] = [];
    const target = join(ws.dir, 's3-fallback');
    const rr = await restore(ctx, 'tree', { snapshot: r.snapshotId, target, onFallback: (s, e, n) => said.push(`${s}->${n}: ${e.message}`) });
    expect(rr.site).toBe('dc2');
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/^dc1->dc2: site "dc1": /);
    expect(await describeTree(target)).toEqual(await describeTree(join(ws.dir, 'data')));
    ctx.close();
  });
});
