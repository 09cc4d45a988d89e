import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createBucket, dropBucket, incompleteUploads, s3Env, s3Site } from '../helpers/s3.ts';
import { siteContract } from './contract.ts';

siteContract('s3 (Ceph RADOS gateway)', async () => {
  const endpoint = s3Env().endpoints[0]!;
  const bucket = await createBucket(endpoint);
  const site = s3Site('ceph-a', endpoint, bucket);
  return {
    site,
    leftovers: () => incompleteUploads(endpoint, bucket),
    cleanup: async () => {
      site.destroy();
      await dropBucket(endpoint, bucket);
    },
  };
});

describe('s3 site specifics', () => {
  it('a wrong secret is an error that names the site and is permanent', async () => {
    const endpoint = s3Env().endpoints[0]!;
    const bucket = await createBucket(endpoint);
    const site = s3Site('dc2', endpoint, bucket, { secretAccessKey: 'wrong-secret-value' });
    const err = await site.put('k', Readable.from([Buffer.from('x')])).catch((e: unknown) => e);
    expect(String(err)).toMatch(/site "dc2": writing k: access denied \(SignatureDoesNotMatch\)/);
    expect(String(err)).not.toContain('wrong-secret-value');
    expect((err as { permanent: boolean }).permanent).toBe(true);
    site.destroy();
    await dropBucket(endpoint, bucket);
  });

  it('an unreachable endpoint is a transient error that names the site', async () => {
    const site = s3Site('down', 'http://127.0.0.1:9', 'nobucket', { maxAttempts: 1 });
    const err = await site.stat('k').catch((e: unknown) => e);
    expect(String(err)).toMatch(/site "down": checking k: cannot reach the endpoint/);
    expect((err as { permanent: boolean }).permanent).toBe(false);
    site.destroy();
  });

  it('a missing bucket is a clear permanent error', async () => {
    const site = s3Site('nob', s3Env().endpoints[0]!, 'no-such-bucket-here');
    const err = await site.put('k', Readable.from([Buffer.from('x')])).catch((e: unknown) => e);
    expect(String(err)).toMatch(/site "nob": writing k: the bucket does not exist/);
    site.destroy();
  });
});
