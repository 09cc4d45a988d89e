/**
 * A tar stream's members, read from their headers alone: the bytes of each member's data are
 * counted past, never looked at. This is what vetting an archive before GNU tar extracts it needs
 * (vet.ts), and all it needs.
 *
 * Why by hand: vetting needs the names and types GNU tar will act on, nothing else, and must
 * refuse what a generic parser tolerates: the `tar` package's Parser warns about a header with a
 * wrong checksum and reads on, and it builds an entry stream for every member and passes each data
 * byte through it. This walker counts past the data: over a 1.6 GB tar of /usr/share and
 * /usr/lib (60,000 members) in 2 MiB pieces, vetting took 0.25 s against 0.57 s (5 alternating
 * passes; on a tree of fewer, larger files both are under 0.03 s per GiB).
 *
 * What it reads, as GNU tar does: ustar headers (name joined to the POSIX prefix), pax extended
 * headers (`x`, and `g` for every member after it) whose `path`, `linkpath` and `size` override
 * the header's, GNU long names and link names (`L`, `K`), sizes in octal or base-256, and the end
 * of the archive at the first zero block (GNU tar stops there too). What it refuses, as a
 * `TarFormatError` naming the byte offset: a header whose checksum is wrong (GNU tar would skip
 * ahead looking for the next good one, which is where two readers can disagree about what the
 * archive holds) and a metadata header too large to be one.
 *
 * It keeps no view of a written chunk: a header or a metadata body cut between two chunks is
 * copied, so the caller may free each chunk once `write` returned.
 */

export interface TarMember {
  /** The name GNU tar extracts the member under. */
  readonly path: string;
  /** Every name the headers give the member, `path` among them: a vetting checks each. */
  readonly names: readonly string[];
  /** The header's type flag: `0` file, `1` hard link, `2` symlink, `5` directory, … (`\0` reads as `0`). */
  readonly type: string;
  readonly linkpath: string;
  /** The size of the member's data in the stream. */
  readonly size: number;
  /** Where its header starts in the stream. */
  readonly offset: number;
}

export class TarFormatError extends Error {
  override name = 'TarFormatError';
}

const BLOCK = 512;
/** Larger pax or long-name bodies are refused: no real name or attribute list comes close. */
const MAX_META = 1 << 20;
const META_TYPES = new Set(['x', 'g', 'L', 'K']);

interface Meta {
  readonly type: string;
  readonly offset: number;
  readonly body: Buffer;
  fill: number;
  readonly pad: number;
}

export class TarWalker {
  /** Bytes of the stream consumed so far. */
  private offset = 0;
  /** Data bytes (with their padding to a whole block) still to pass over. */
  private skip = 0;
  /** A header cut between chunks, and how much of it arrived. */
  private readonly partial = Buffer.alloc(BLOCK);
  private fill = 0;
  /** A metadata body (pax, long name) being gathered. */
  private meta?: Meta;
  /** Attributes for the next member only (`x`), and for every member after (`g`). */
  private local = new Map<string, string>();
  private readonly global = new Map<string, string>();
  private longName?: string;
  private longLink?: string;
  /** Whether the end-of-archive block was read: what follows is not part of the archive. */
  ended = false;
  private readonly onMember: (member: TarMember) => void;

  constructor(onMember: (member: TarMember) => void) {
    this.onMember = onMember;
  }

  /** Reads `chunk`'s headers; throws TarFormatError (or what `onMember` throws) and stops there. */
  write(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && !this.ended) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - at);
        this.skip -= n;
        at += n;
      } else if (this.meta) {
        const m = this.meta;
        const n = Math.min(m.body.length - m.fill, chunk.length - at);
        chunk.copy(m.body, m.fill, at, at + n);
        m.fill += n;
        at += n;
        if (m.fill === m.body.length) {
          this.meta = undefined;
          this.skip = m.pad;
          this.metadata(m);
        }
      } else if (this.fill === 0 && chunk.length - at >= BLOCK) {
        const start = this.offset + at;
        at += BLOCK;
        this.header(chunk.subarray(at - BLOCK, at), start);
      } else {
        const n = Math.min(BLOCK - this.fill, chunk.length - at);
        chunk.copy(this.partial, this.fill, at, at + n);
        this.fill += n;
        at += n;
        if (this.fill === BLOCK) {
          this.fill = 0;
          this.header(this.partial, this.offset + at - BLOCK);
        }
      }
    }
    this.offset += chunk.length;
  }

  private header(h: Buffer, offset: number): void {
    if (isZero(h)) {
      this.ended = true;
      return;
    }
    checkSum(h, offset);
    const type = h[156] === 0 ? '0' : String.fromCharCode(h[156]!);
    const size = this.number(h, 124, 12, offset);
    if (META_TYPES.has(type)) {
      if (size > MAX_META) throw new TarFormatError(`a metadata header of ${size} bytes at byte ${offset}`);
      const m: Meta = { type, offset, body: Buffer.alloc(size), fill: 0, pad: padding(size) };
      if (size > 0) this.meta = m;
      else this.metadata(m);
      return;
    }
    const ustar = h.toString('latin1', 257, 263) === 'ustar\0';
    const prefix = ustar ? text(h, 345, 155) : '';
    const headerName = prefix === '' ? text(h, 0, 100) : `${prefix}/${text(h, 0, 100)}`;
    const attr = (key: string): string | undefined => this.local.get(key) ?? this.global.get(key);
    const sparseName = attr('GNU.sparse.name');
    const paxPath = attr('path');
    const path = sparseName ?? paxPath ?? this.longName ?? headerName;
    const names = [...new Set([path, paxPath, this.longName, headerName].filter((n): n is string => n !== undefined))];
    const paxSize = attr('size');
    const dataSize = paxSize === undefined ? size : decimal(paxSize, `the pax size of the member at byte ${offset}`);
    const linkpath = attr('linkpath') ?? this.longLink ?? text(h, 157, 100);
    this.local = new Map();
    this.longName = undefined;
    this.longLink = undefined;
    this.onMember({ path, names, type, linkpath, size: dataSize, offset });
    this.skip = dataSize + padding(dataSize);
  }

  private metadata(m: Meta): void {
    switch (m.type) {
      case 'L':
        this.longName = cString(m.body);
        return;
      case 'K':
        this.longLink = cString(m.body);
        return;
      default:
        for (const [key, value] of paxRecords(m.body, m.offset)) (m.type === 'g' ? this.global : this.local).set(key, value);
    }
  }

  /** A numeric field: octal digits (space or NUL terminated), or base-256 when its top bit is set. */
  private number(h: Buffer, at: number, len: number, offset: number): number {
    if (h[at]! & 0x80) {
      if (h[at] === 0xff) throw new TarFormatError(`a negative size in the header at byte ${offset}`);
      let n = h[at]! & 0x7f;
      for (let i = at + 1; i < at + len; i++) n = n * 256 + h[i]!;
      if (!Number.isSafeInteger(n)) throw new TarFormatError(`a size too large to be real in the header at byte ${offset}`);
      return n;
    }
    const digits = h.toString('latin1', at, at + len).replace(/[\0 ]+$/, '').replace(/^ +/, '');
    if (!/^[0-7]*$/.test(digits)) throw new TarFormatError(`a size that is not a number in the header at byte ${offset}`);
    return digits === '' ? 0 : parseInt(digits, 8);
  }
}

/** pax records: `LEN key=value\n`, LEN counting the whole record. */
function paxRecords(body: Buffer, offset: number): [string, string][] {
  const out: [string, string][] = [];
  let at = 0;
  while (at < body.length) {
    if (body[at] === 0) break; // padding some writers leave
    const space = body.indexOf(0x20, at);
    const len = space < 0 ? NaN : Number(body.toString('latin1', at, space));
    if (!Number.isSafeInteger(len) || len <= space - at + 1 || at + len > body.length || body[at + len - 1] !== 0x0a) {
      throw new TarFormatError(`a damaged pax record in the header at byte ${offset}`);
    }
    const record = body.toString('utf8', space + 1, at + len - 1);
    const eq = record.indexOf('=');
    if (eq < 1) throw new TarFormatError(`a damaged pax record in the header at byte ${offset}`);
    out.push([record.slice(0, eq), record.slice(eq + 1)]);
    at += len;
  }
  return out;
}

function decimal(s: string, what: string): number {
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) throw new TarFormatError(`${what} is not a size: ${JSON.stringify(s)}`);
  return Number(s);
}

/** The checksum is the sum of the header's bytes with its own field read as spaces: unsigned, or signed as some old writers made it. */
function checkSum(h: Buffer, offset: number): void {
  const field = h.toString('latin1', 148, 156).replace(/[\0 ]+$/, '').replace(/^ +/, '');
  const want = /^[0-7]+$/.test(field) ? parseInt(field, 8) : NaN;
  let sum = 8 * 0x20;
  let high = 0; // bytes above 127, which a signed sum counts 256 lower
  for (let i = 0; i < 148; i++) {
    sum += h[i]!;
    if (h[i]! > 127) high++;
  }
  for (let i = 156; i < BLOCK; i++) {
    sum += h[i]!;
    if (h[i]! > 127) high++;
  }
  if (want !== sum && want !== sum - 256 * high) throw new TarFormatError(`a damaged tar header (checksum) at byte ${offset}`);
}

function isZero(h: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (h[i] !== 0) return false;
  return true;
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** A NUL-terminated field (or the whole field when it has no NUL). */
function text(h: Buffer, at: number, len: number): string {
  const end = h.indexOf(0, at);
  return h.toString('utf8', at, end < 0 || end > at + len ? at + len : end);
}

function cString(b: Buffer): string {
  return text(b, 0, b.length);
}
