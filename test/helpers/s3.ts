import { randomBytes } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { inject } from 'vitest';
import { S3Site, type S3SiteOptions } from '../../src/sites/s3/s3-site.ts';

export function s3Env() {
  return inject('s3');
}

export function adminClient(endpoint: string): S3Client {
  const env = s3Env();
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export async function createBucket(endpoint: string, prefix = 'lb', o: { objectLock?: boolean } = {}): Promise<string> {
  const name = `${prefix}-${randomBytes(5).toString('hex')}`;
  await adminClient(endpoint).send(new CreateBucketCommand({ Bucket: name, ...(o.objectLock ? { ObjectLockEnabledForBucket: true } : {}) }));
  return name;
}

/** Empties and removes a bucket, so that memstore gets its memory back. */
export async function dropBucket(endpoint: string, bucket: string): Promise<void> {
  const c = adminClient(endpoint);
  for (;;) {
    const res = await c.send(new ListObjectsV2Command({ Bucket: bucket }));
    const keys = (res.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (keys.length === 0) break;
    await c.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
  }
  await c.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => {});
}

/** Every key in a bucket (up to 1,000; tests keep buckets small). */
export async function listKeys(endpoint: string, bucket: string): Promise<string[]> {
  const res = await adminClient(endpoint).send(new ListObjectsV2Command({ Bucket: bucket }));
  return (res.Contents ?? []).map((o) => o.Key!);
}

export async function incompleteUploads(endpoint: string, bucket: string): Promise<number> {
  const res = await adminClient(endpoint).send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return res.Uploads?.length ?? 0;
}

export function s3Site(name: string, endpoint: string, bucket: string, over: Partial<S3SiteOptions> = {}): S3Site {
  const env = s3Env();
  return new S3Site({
    name,
    endpoint,
    region: 'us-east-1',
    bucket,
    prefix: 'lifeboat/',
    forcePathStyle: true,
    accessKeyId: env.accessKeyId,
    secretAccessKey: env.secretAccessKey,
    partSizeBytes: 5 * 1024 * 1024,
    queueSize: 2,
    maxAttempts: 2,
    ...over,
  });
}
