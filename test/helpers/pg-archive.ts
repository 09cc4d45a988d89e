/** The header of a pg_dump custom-format archive, built byte by byte (see src/sources/postgres/archive-header.ts). */
export function pgArchiveHeader(o: { minor: number; intSize?: number; database: string; server: string; dump: string }): Buffer {
  const intSize = o.intSize ?? 4;
  const int = (v: number): Buffer => {
    const b = Buffer.alloc(1 + intSize);
    b[0] = v < 0 ? 1 : 0;
    let x = Math.abs(v);
    for (let i = 0; i < intSize; i++) {
      b[1 + i] = x % 256;
      x = Math.floor(x / 256);
    }
    return b;
  };
  const str = (s: string): Buffer => Buffer.concat([int(Buffer.byteLength(s)), Buffer.from(s)]);
  const created = [27, 30, 12, 27, 10, 126, 0].map(int); // sec, min, hour, mday, mon, year - 1900, isdst
  const compression = o.minor >= 15 ? Buffer.from([0]) : int(0);
  return Buffer.concat([Buffer.from('PGDMP'), Buffer.from([1, o.minor, 0, intSize, 8, 1]), compression, ...created, str(o.database), str(o.server), str(o.dump)]);
}
