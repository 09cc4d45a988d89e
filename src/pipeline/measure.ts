/**
 * Pass-through stages that count and hash what flows through them. With an expectation, the stage
 * verifies at the end of the stream and fails it instead of ending it cleanly, so a consumer sees a
 * mismatch as a stream error before it commits anything.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { LifeboatError } from '../errors.ts';

/** A SHA-256 computed somewhere else (another thread): `update` returns a promise when the stream must wait. */
export interface RemoteDigest {
  update(piece: Buffer): Promise<void> | undefined;
  digest(): Promise<string>;
}

export class Measure extends Transform {
  bytes = 0;
  private readonly hash?: Hash;
  private readonly remote?: RemoteDigest;
  private digest?: string;
  private readonly expect?: { bytes: number; sha256: string; what: string };
  private readonly onBytes?: (total: number) => void;
  private readonly holdBack: boolean;
  private held?: Buffer;

  /**
   * With `holdBack`, the newest chunk is released only after the next one arrives, and the last
   * only once the expectation is met: a consumer cannot see the end of a stream that fails its
   * check, so it cannot commit it (a database restore, say).
   */
  /**
   * With `hash: false` only the size is counted and checked: for a stage whose bytes other checks
   * already bind to the manifest (a restore's plaintext, see restore.ts). With
   * `digest`, the hashing happens there instead (streamed use only, not `observe`).
   */
  constructor(o: { expect?: { bytes: number; sha256: string; what: string }; onBytes?: (total: number) => void; holdBack?: boolean; hash?: boolean; digest?: RemoteDigest } = {}) {
    super();
    if (o.digest) this.remote = o.digest;
    else if (o.hash !== false) this.hash = createHash('sha256');
    if (o.expect) this.expect = o.expect;
    if (o.onBytes) this.onBytes = o.onBytes;
    this.holdBack = o.holdBack ?? false;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash?.update(chunk);
    this.onBytes?.(this.bytes);
    const wait = this.remote?.update(chunk);
    if (wait) wait.then(() => this.pass(chunk, cb), cb);
    else this.pass(chunk, cb);
  }

  private pass(chunk: Buffer, cb: TransformCallback): void {
    if (!this.holdBack) return cb(null, chunk);
    const previous = this.held;
    this.held = chunk;
    cb(null, previous);
  }

  override _flush(cb: TransformCallback): void {
    if (this.remote) {
      this.remote.digest().then((d) => {
        this.digest = d;
        this.check(cb);
      }, cb);
      return;
    }
    this.digest = this.hash?.digest('hex');
    this.check(cb);
  }

  private check(cb: TransformCallback): void {
    const e = this.expect;
    if (e && (e.bytes !== this.bytes || (this.digest !== undefined && e.sha256 !== this.digest))) {
      const detail = e.bytes !== this.bytes ? `${this.bytes} bytes instead of ${e.bytes}` : 'SHA-256 differs from the manifest';
      cb(new LifeboatError('INTEGRITY', `${e.what}: ${detail}`));
      return;
    }
    cb(null, this.held);
  }

  /** Counts and hashes bytes that reach the next stage another way (read straight into its buffers). */
  observe(piece: Buffer): void {
    this.bytes += piece.length;
    this.hash?.update(piece);
    this.onBytes?.(this.bytes);
  }

  /** Ends an observed stream: the digest is final. */
  finish(): void {
    this.digest ??= this.hash?.digest('hex');
  }

  /** The SHA-256 of everything that passed, once the stream has ended. */
  sha256(): string {
    if (this.digest === undefined) throw new Error(this.hash || this.remote ? 'the stream has not ended yet' : 'this stage counts bytes without hashing them');
    return this.digest;
  }
}
