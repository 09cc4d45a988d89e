/**
 * A site in an S3-compatible bucket under a prefix (AWS S3, Ceph RADOS gateway, MinIO, …).
 *
 * Uploads stream through @aws-sdk/lib-storage's multipart Upload: memory per upload is bounded
 * by partSize × queueSize, and an upload that fails or is aborted is aborted on the server too, so
 * no object appears under the key. Checksums are computed only when an operation requires them
 * (WHEN_REQUIRED), which is what non-AWS stores accept.
 */
import { readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  S3Client,
  paginateListObjectsV2,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { S3SiteConfig } from '../../config/model.ts';
import { LifeboatError, siteError } from '../../errors.ts';
import { checkKey } from '../fs/fs-site.ts';
import type { ObjectInfo, PutOptions, Site } from '../site.ts';
import { classifyS3Error, isNotFound } from './s3-errors.ts';

/** The site's config (see config/model.ts), plus knobs that tests and tools may set. */
export type S3SiteOptions = Omit<S3SiteConfig, 'type' | 'requestTimeoutMs'> & {
  readonly requestTimeoutMs?: number;
  /** SDK attempts per request (transient errors are retried with backoff by the SDK). */
  readonly maxAttempts?: number;
};

export class S3Site implements Site {
  readonly name: string;
  readonly location: string;
  private readonly o: S3SiteOptions;
  private readonly client: S3Client;

  constructor(o: S3SiteOptions) {
    this.o = o;
    this.name = o.name;
    this.location = `${o.endpoint ?? 's3'}/${o.bucket}/${o.prefix}`;
    const credentials =
      o.accessKeyId && o.secretAccessKey
        ? { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey, ...(o.sessionToken ? { sessionToken: o.sessionToken } : {}) }
        : undefined;
    this.client = new S3Client({
      region: o.region,
      ...(o.endpoint ? { endpoint: o.endpoint } : {}),
      forcePathStyle: o.forcePathStyle,
      ...(credentials ? { credentials } : {}),
      maxAttempts: o.maxAttempts ?? 3,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: new NodeHttpHandler({
        connectionTimeout: 10_000,
        // Without it, a gateway that accepts a connection and never answers hangs a backup for ever.
        requestTimeout: o.requestTimeoutMs ?? 60_000,
        throwOnRequestTimeout: true,
        ...(o.caFile ? { httpsAgent: new HttpsAgent({ ca: readFileSync(o.caFile), keepAlive: true }) } : {}),
      }),
    });
  }

  private key(key: string): string {
    checkKey(this.name, key);
    return `${this.o.prefix}${key}`;
  }

  private fail(op: string, key: string, err: unknown): LifeboatError {
    return classifyS3Error(this.name, `${op} ${key}`, err);
  }

  async put(key: string, body: Readable, o: PutOptions = {}): Promise<{ bytes: number }> {
    const params: PutObjectCommandInput = { Bucket: this.o.bucket, Key: this.key(key), Body: body };
    if (this.o.storageClass) params.StorageClass = this.o.storageClass as PutObjectCommandInput['StorageClass'];
    if (o.ifNoneMatch) params.IfNoneMatch = '*';
    if (this.o.objectLock && o.retain) {
      params.ObjectLockMode = this.o.objectLock.mode;
      params.ObjectLockRetainUntilDate = new Date(Date.now() + this.o.objectLock.days * 86_400_000);
    }
    const upload = new Upload({
      client: this.client,
      params,
      partSize: this.o.partSizeBytes,
      queueSize: this.o.queueSize,
      leavePartsOnError: false,
    });
    let bytes = 0;
    upload.on('httpUploadProgress', (p) => {
      if (p.loaded !== undefined) {
        bytes = p.loaded;
        o.onProgress?.(bytes);
      }
    });
    const onAbort = (): void => void upload.abort().catch(() => {});
    o.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (o.signal?.aborted) throw Object.assign(new Error('aborted'), { name: 'AbortError' });
      await upload.done();
      const info = await this.stat(key);
      return { bytes: info?.size ?? bytes };
    } catch (err) {
      body.destroy();
      // lib-storage aborts the multipart upload itself, but an abort racing with part uploads can
      // leave one behind: make sure, best effort, that none remains for this key.
      await this.abortIncomplete(this.key(key), true).catch(() => {});
      if ((err as Error).name === 'AbortError') throw new LifeboatError('ABORTED', `site "${this.name}": upload of ${key} aborted`);
      throw this.fail('writing', key, err);
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
    }
  }

  async get(key: string, o: { signal?: AbortSignal } = {}): Promise<Readable> {
    try {
      const res = await this.client.send(
        new GetObjectCommand({ Bucket: this.o.bucket, Key: this.key(key) }),
        o.signal ? { abortSignal: o.signal } : {},
      );
      if (!(res.Body instanceof Readable)) throw new Error('the response has no body stream');
      return res.Body;
    } catch (err) {
      throw this.fail('reading', key, err);
    }
  }

  async getBytes(key: string, limit: number): Promise<Buffer> {
    const body = await this.get(key);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) {
        body.destroy();
        throw siteError(this.name, 'INTEGRITY', `${key} is more than the ${limit} bytes expected`);
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.o.bucket, Key: this.key(key) }));
      return { key, size: res.ContentLength ?? 0, ...(res.LastModified ? { modified: res.LastModified } : {}) };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw this.fail('checking', key, err);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    try {
      const pages = paginateListObjectsV2({ client: this.client }, { Bucket: this.o.bucket, Prefix: `${this.o.prefix}${prefix}` });
      for await (const page of pages) {
        for (const obj of page.Contents ?? []) {
          if (!obj.Key) continue;
          yield { key: obj.Key.slice(this.o.prefix.length), size: obj.Size ?? 0, ...(obj.LastModified ? { modified: obj.LastModified } : {}) };
        }
      }
    } catch (err) {
      throw this.fail('listing', prefix, err);
    }
  }

  async lockedUntil(key: string): Promise<Date | undefined> {
    if (!this.o.objectLock) return undefined;
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.o.bucket, Key: this.key(key) }));
      const until = res.ObjectLockRetainUntilDate;
      return until && until.getTime() > Date.now() ? until : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw this.fail('checking the lock of', key, err);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.o.bucket, Key: this.key(key) }));
    } catch (err) {
      if (isNotFound(err)) return;
      throw this.fail('deleting', key, err);
    }
  }

  /** Aborts incomplete multipart uploads under a key prefix (crash leftovers); returns how many. */
  async sweepIncomplete(prefix: string): Promise<number> {
    return this.abortIncomplete(`${this.o.prefix}${prefix}`, false);
  }

  private async abortIncomplete(fullPrefix: string, exact: boolean): Promise<number> {
    let aborted = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const res = await this.client.send(
        new ListMultipartUploadsCommand({ Bucket: this.o.bucket, Prefix: fullPrefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
      );
      for (const u of res.Uploads ?? []) {
        if (!u.Key || !u.UploadId || (exact && u.Key !== fullPrefix)) continue;
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.o.bucket, Key: u.Key, UploadId: u.UploadId }));
        aborted++;
      }
      if (!res.IsTruncated) return aborted;
      keyMarker = res.NextKeyMarker;
      uploadIdMarker = res.NextUploadIdMarker;
    }
  }

  destroy(): void {
    this.client.destroy();
  }
}
