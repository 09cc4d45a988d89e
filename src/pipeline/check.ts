/**
 * Reading stored objects without restoring them: checking a copy against its manifest (size and
 * SHA-256 of the ciphertext; deep: also decrypting and decompressing to the end and checking the
 * plaintext), and copying a copy from one site to another with the same check, so that a damaged
 * copy is never spread. A mismatch is a stream error before the end, so a copy's put is aborted
 * and leaves nothing (the site contract).
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDecryptStream } from '../crypto/age.ts';
import type { Identity } from '../crypto/keys.ts';
import type { Site } from '../sites/site.ts';
import { Measure } from './measure.ts';
import { ParallelZstdDecompress } from './zstd/decompress.ts';

/** A stored object and what its manifest says about it. */
export interface StoredObject {
  readonly what: string;
  readonly key: string;
  readonly plaintext: { readonly bytes: number; readonly sha256: string };
  readonly ciphertext: { readonly bytes: number; readonly sha256: string };
}

const sink = (): Writable => new Writable({ write: (_chunk, _enc, cb) => cb() });

/** Reads the object to its end and checks it; rejects with the reason when it does not match. */
export async function checkObject(site: Site, obj: StoredObject, o: { deep?: { identities: readonly Identity[] }; signal: AbortSignal }): Promise<void> {
  const body = await site.get(obj.key, { signal: o.signal });
  const cipher = new Measure({ expect: { ...obj.ciphertext, what: `site "${site.name}": ${obj.key}` } });
  if (!o.deep) return pipeline(body, cipher, sink(), { signal: o.signal });
  const plain = new Measure({ expect: { ...obj.plaintext, what: `site "${site.name}": ${obj.key} decrypted and decompressed` } });
  return pipeline(body, cipher, createDecryptStream(o.deep.identities), new ParallelZstdDecompress(), plain, sink(), { signal: o.signal });
}

/** Copies the ciphertext from one site to another, checked against the manifest as it flows. */
export async function copyObject(from: Site, to: Site, obj: StoredObject, signal: AbortSignal): Promise<void> {
  const body = await from.get(obj.key, { signal });
  const checked = new Measure({ expect: { ...obj.ciphertext, what: `site "${from.name}": ${obj.key}` }, holdBack: true });
  body.on('error', (err) => checked.destroy(err));
  // A mismatch can fail `checked` before the site starts reading it (it may first create a folder
  // or open a file): the put still sees the stream as failed; this only keeps the error from being
  // reported as uncaught in between.
  checked.on('error', () => {});
  try {
    await to.put(obj.key, body.pipe(checked), { signal, retain: true });
  } finally {
    // A failed put leaves the source unread: close it (an fs site's file handle) instead of leaving it to GC.
    body.destroy();
  }
}
