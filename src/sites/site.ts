/**
 * A site is one place where snapshots live: a local directory or an S3-compatible bucket and
 * prefix. Sites know keys and bytes only — nothing about jobs, manifests or encryption (the
 * catalog owns the key layout). Keys are relative to the site's root and use "/" separators.
 *
 * Contract, checked for every implementation by test/sites/contract.ts:
 * - put: stores the whole stream under `key`, or nothing. A reader never sees a partial object
 *   under the final key; a failed or aborted put leaves no object and no orphan upload parts.
 *   With `ifNoneMatch`, fails with code CONFLICT when the key already exists.
 * - get: a stream of the object; a missing key rejects with code NOT_FOUND.
 * - open (optional, sites that keep objects as local files): the object's file, opened for
 *   reading, for a reader in another thread; errors as for get.
 * - getBytes: a small object (manifest, hold, report) whole; larger than `limit` rejects with
 *   code INTEGRITY, a missing key with NOT_FOUND.
 * - stat: size and time of an object, or undefined when it does not exist.
 * - list: every object whose key starts with `prefix`, in no particular order.
 * - delete: removes the object; deleting a missing key succeeds.
 * - lockedUntil (optional): the retention date of an object written with `retain` on a site with
 *   Object Lock; prune keeps such snapshots until then.
 * - sweepIncomplete: clears leftovers of puts that were interrupted (a crash, a killed gateway).
 * - errors are LifeboatErrors naming the site; `permanent` says whether retrying can help.
 */
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  readonly modified?: Date;
}

export interface PutOptions {
  readonly signal?: AbortSignal;
  /** Fail with CONFLICT instead of replacing an existing object. */
  readonly ifNoneMatch?: boolean;
  /** Progress: called with the number of bytes stored so far. */
  readonly onProgress?: (bytes: number) => void;
  /**
   * Keep the object immutable for the site's retention (S3 Object Lock, when the site sets
   * `objectLock`): snapshots and drill reports, never leases or holds that must be deletable.
   */
  readonly retain?: boolean;
}

export interface Site {
  readonly name: string;
  /** A human description of where the site is, without credentials. */
  readonly location: string;
  put(key: string, body: Readable, o?: PutOptions): Promise<{ bytes: number }>;
  get(key: string, o?: { signal?: AbortSignal }): Promise<Readable>;
  open?(key: string): Promise<FileHandle>;
  getBytes(key: string, limit: number): Promise<Buffer>;
  stat(key: string): Promise<ObjectInfo | undefined>;
  list(prefix: string): AsyncIterable<ObjectInfo>;
  delete(key: string): Promise<void>;
  /** Until when the object is locked against deletion (S3 Object Lock); undefined when it is not. */
  lockedUntil?(key: string): Promise<Date | undefined>;
  /**
   * Removes what interrupted puts left under `prefix` (temporary files, incomplete multipart
   * uploads). Call only when no put under that prefix is running. Returns how many were removed.
   */
  sweepIncomplete(prefix: string): Promise<number>;
}
