/**
 * Freeing a large buffer's memory at once, when its owner knows nobody else holds it.
 *
 * A Buffer's bytes live outside the JavaScript heap and are freed only when the collector finds
 * the Buffer dead; V8 starts a full collection for every ~64 MiB of such memory allocated. The
 * data paths allocate a buffer per zstd frame, so many of their collections were for buffers
 * that were dead the moment the next stage had copied them. Detaching the buffer
 * (`ArrayBuffer.prototype.transfer(0)`, ES2024) frees its memory right away and takes it off V8's
 * count: fewer collections, less CPU.
 *
 * Only for memory that no one else references: every view of it becomes empty. By default the
 * buffer must span its whole ArrayBuffer; `wholeMemory` is the caller's word that a buffer is the
 * only view of the memory around it (a slice that node:zlib cut from an output buffer of its own).
 * Buffer's shared pool (small buffers) is never touched.
 */
export function release(buf: Buffer, o: { wholeMemory?: boolean } = {}): void {
  const ab = buf.buffer;
  if (!(ab instanceof ArrayBuffer) || ab.detached || ab.byteLength <= Buffer.poolSize) return;
  if (o.wholeMemory || (buf.byteOffset === 0 && buf.byteLength === ab.byteLength)) ab.transfer(0);
}

/**
 * Buffers handed down a chain of stages as the only view of their memory: the stage where a
 * buffer's journey ends (a socket write that completed) may free it with `releaseHandedOver`. Every
 * stage in between passes such a buffer on whole and keeps no view of it once passed.
 */
const handedOver = new WeakSet<Buffer>();

/** Marks `buf` (the only view of the memory around it) as free to release at the end of its journey. */
export function handOver(buf: Buffer): Buffer {
  handedOver.add(buf);
  return buf;
}

/** Frees `buf` if it was handed over (see `handOver`); leaves any other buffer to the collector. */
export function releaseHandedOver(buf: Buffer): void {
  if (handedOver.delete(buf)) release(buf, { wholeMemory: true });
}
