/**
 * The header that pg_dump writes first in a custom-format archive. It names the server's version
 * and pg_dump's own, so a backup reads pg_dump's version from the dump it is streaming instead of
 * starting `pg_dump --version` beside it (a fork of this process and a tool start while pg_dump
 * needs the CPU).
 *
 * Layout (archive format 1.10 and later): "PGDMP"; the format's major, minor and revision bytes;
 * the sizes of an int and of a file offset; the archive kind; the compression (an int up to format
 * 1.14, one byte from 1.15); seven ints of the creation time; then three strings: the database's
 * name, the server's version and pg_dump's version. An int is a sign byte followed by `intSize`
 * bytes, least significant first; a string is an int length followed by that many bytes.
 * Anything else (an older format, a truncated or foreign stream) gives `undefined`, and the caller
 * falls back to asking pg_dump.
 */

export interface ArchiveHeader {
  /** "1.14.0" */
  readonly format: string;
  readonly database: string;
  /** As the server reports it: "15.20 (Debian 15.20-0+deb12u1)". */
  readonly serverVersion: string;
  /** As pg_dump reports it. */
  readonly dumpVersion: string;
}

/** Enough for the header of any archive: its strings are a database name and two versions. */
export const ARCHIVE_HEADER_BYTES = 4096;

const MAGIC = Buffer.from('PGDMP');
const CUSTOM_FORMAT = 1;

class Reader {
  private pos: number;
  private readonly buf: Buffer;
  private readonly intSize: number;

  constructor(buf: Buffer, pos: number, intSize: number) {
    this.buf = buf;
    this.pos = pos;
    this.intSize = intSize;
  }

  skip(n: number): void {
    this.pos += n;
  }

  int(): number | undefined {
    if (this.pos + 1 + this.intSize > this.buf.length) return undefined;
    const negative = this.buf[this.pos] !== 0;
    let value = 0;
    for (let i = this.intSize - 1; i >= 0; i--) value = value * 256 + this.buf[this.pos + 1 + i]!;
    this.pos += 1 + this.intSize;
    return negative ? -value : value;
  }

  str(): string | undefined {
    const len = this.int();
    if (len === undefined || len < 0 || len > 1024 || this.pos + len > this.buf.length) return undefined;
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }
}

export function parseArchiveHeader(buf: Buffer): ArchiveHeader | undefined {
  if (buf.length < 11 || !buf.subarray(0, 5).equals(MAGIC)) return undefined;
  const [major, minor, rev, intSize, offSize, kind] = [buf[5]!, buf[6]!, buf[7]!, buf[8]!, buf[9]!, buf[10]!];
  if (major !== 1 || minor < 10 || intSize < 1 || intSize > 8 || offSize < 1 || kind !== CUSTOM_FORMAT) return undefined;
  const r = new Reader(buf, 11, intSize);
  if (minor >= 15) r.skip(1);
  else if (r.int() === undefined) return undefined;
  for (let i = 0; i < 7; i++) if (r.int() === undefined) return undefined;
  const database = r.str();
  const serverVersion = r.str();
  const dumpVersion = r.str();
  if (database === undefined || serverVersion === undefined || dumpVersion === undefined) return undefined;
  if (!/^\d+/.test(serverVersion) || !/^\d+/.test(dumpVersion)) return undefined;
  return { format: `${major}.${minor}.${rev}`, database, serverVersion, dumpVersion };
}
