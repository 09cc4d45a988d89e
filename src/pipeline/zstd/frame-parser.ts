/**
 * Finds where each zstd frame ends in a stream, reading only frame and block headers
 * (RFC 8878, section 3.1): magic number, frame header, then blocks (3-byte headers that give each
 * block's size and whether it is the last), then an optional 4-byte checksum. Skippable frames are
 * recognised and dropped. Nothing is decompressed here.
 *
 * Why by hand: node:zlib's zstd decoder stops at the end of the first frame and drops what follows
 * in the same write (nodejs/node#64741, unfixed in Node 24), and no maintained package exposes frame
 * boundaries without a native addon. The decoder in decompress.ts gives each frame its own
 * decompression instead.
 */
import { LifeboatError } from '../../errors.ts';

const MAGIC = 0xfd2fb528;
const SKIPPABLE = 0x184d2a50;
const DICT_ID_BYTES = [0, 1, 2, 4] as const;

/** What the parser reports as it consumes a stream, in order. */
export type FrameEvent =
  /** A zstd frame begins; `contentSize` when its header records it. */
  | { readonly kind: 'start'; readonly contentSize?: number }
  /** Bytes of the current frame, headers included. */
  | { readonly kind: 'bytes'; readonly bytes: Buffer }
  /** The current frame is complete. */
  | { readonly kind: 'end' };

type State = 'magic' | 'block' | 'body' | 'checksum' | 'skip';

export class FrameParser {
  private state: State = 'magic';
  /** Bytes left in the current block body or skippable frame. */
  private left = 0;
  private lastBlock = false;
  private checksum = false;
  /** A header cut by the end of the previous chunk (a few bytes at most). */
  private carry: Buffer | undefined;
  private frames = 0;

  /** Consumes `chunk` and returns what it held. Throws when the bytes are not a zstd stream. */
  feed(chunk: Buffer): FrameEvent[] {
    const buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = undefined;
    const events: FrameEvent[] = [];
    let pos = 0;
    // The start of this frame's bytes in `buf` not yet reported.
    let from = 0;
    const report = (): void => {
      if (pos > from) events.push({ kind: 'bytes', bytes: buf.subarray(from, pos) });
      from = pos;
    };
    /** True when `n` bytes are there; otherwise keeps the rest for the next chunk. */
    const have = (n: number): boolean => {
      if (buf.length - pos >= n) return true;
      if (this.state !== 'magic') report();
      this.carry = Buffer.from(buf.subarray(pos));
      pos = buf.length;
      from = pos;
      return false;
    };
    while (pos < buf.length) {
      switch (this.state) {
        case 'magic': {
          if (!have(4)) break;
          const magic = buf.readUInt32LE(pos);
          if ((magic & 0xfffffff0) >>> 0 === SKIPPABLE) {
            if (!have(8)) break;
            this.left = buf.readUInt32LE(pos + 4);
            pos += 8;
            this.state = 'skip';
            break;
          }
          if (magic !== MAGIC) throw notZstd(this.frames, 'it does not start with a zstd magic number');
          if (!have(5)) break;
          const fhd = buf[pos + 4]!;
          if (fhd & 0x08) throw notZstd(this.frames, 'a reserved bit is set in its frame header');
          const single = (fhd >> 5) & 1;
          const fcsFlag = fhd >> 6;
          const fcsBytes = fcsFlag === 0 ? single : 1 << fcsFlag;
          const headerBytes = 5 + (single ? 0 : 1) + DICT_ID_BYTES[fhd & 3]! + fcsBytes;
          if (!have(headerBytes)) break;
          const contentSize = readContentSize(buf, pos + headerBytes - fcsBytes, fcsBytes);
          events.push({ kind: 'start', ...(contentSize === undefined ? {} : { contentSize }) });
          this.checksum = ((fhd >> 2) & 1) === 1;
          from = pos;
          pos += headerBytes;
          this.state = 'block';
          break;
        }
        case 'block': {
          if (!have(3)) break;
          const h = buf.readUIntLE(pos, 3);
          const type = (h >> 1) & 3;
          if (type === 3) throw notZstd(this.frames, 'a block has the reserved type');
          pos += 3;
          this.lastBlock = (h & 1) === 1;
          // An RLE block holds one byte, repeated when decoded.
          this.left = type === 1 ? 1 : h >>> 3;
          this.state = 'body';
          if (this.left === 0) this.afterBody(events, report);
          break;
        }
        case 'body': {
          const n = Math.min(this.left, buf.length - pos);
          pos += n;
          this.left -= n;
          if (this.left === 0) this.afterBody(events, report);
          break;
        }
        case 'checksum': {
          if (!have(4)) break;
          pos += 4;
          this.endFrame(events, report);
          break;
        }
        case 'skip': {
          const n = Math.min(this.left, buf.length - pos);
          pos += n;
          from = pos;
          this.left -= n;
          if (this.left === 0) this.state = 'magic';
          break;
        }
      }
    }
    if (this.state !== 'magic' && this.state !== 'skip') report();
    return events;
  }

  /** Whether the stream may end here: between frames, after at least one. */
  atBoundary(): boolean {
    return this.state === 'magic' && this.carry === undefined && this.frames > 0;
  }

  private afterBody(events: FrameEvent[], report: () => void): void {
    if (!this.lastBlock) this.state = 'block';
    else if (this.checksum) this.state = 'checksum';
    else this.endFrame(events, report);
  }

  private endFrame(events: FrameEvent[], report: () => void): void {
    report();
    events.push({ kind: 'end' });
    this.frames++;
    this.state = 'magic';
  }
}

function readContentSize(buf: Buffer, at: number, bytes: number): number | undefined {
  switch (bytes) {
    case 1:
      return buf[at]!;
    case 2:
      return buf.readUInt16LE(at) + 256;
    case 4:
      return buf.readUInt32LE(at);
    case 8:
      return Number(buf.readBigUInt64LE(at));
    default:
      return undefined;
  }
}

function notZstd(frames: number, why: string): LifeboatError {
  return new LifeboatError('INTEGRITY', `the payload is not a zstd stream after ${frames} frame(s): ${why}`);
}
