import { describe, expect, it } from 'vitest';
import { parseArchiveHeader } from '../../src/sources/postgres/archive-header.ts';
import { pgArchiveHeader } from '../helpers/pg-archive.ts';
import { execFileP } from '../helpers/streams.ts';

const PG = { PGHOST: process.env.LIFEBOAT_TEST_PGHOST ?? '127.0.0.1', PGPORT: process.env.LIFEBOAT_TEST_PGPORT ?? '5432', PGUSER: process.env.LIFEBOAT_TEST_PGUSER ?? 'postgres' };
const env = { ...process.env, ...PG };

describe('the header of a pg_dump custom-format archive', () => {
  it("names the database, the server's version and pg_dump's, as pg_dump writes them", async () => {
    const { stdout } = await execFileP('sh', ['-c', 'pg_dump -Fc -Z0 -d postgres | head -c 4096 | base64 -w0'], { env });
    const h = parseArchiveHeader(Buffer.from(stdout, 'base64'));
    const dump = (await execFileP('pg_dump', ['--version'])).stdout;
    const server = (await execFileP('psql', ['-X', '-A', '-t', '-d', 'postgres', '-c', 'SHOW server_version'], { env })).stdout.trim();
    expect(h).toMatchObject({ format: expect.stringMatching(/^1\.\d+\.\d+$/), database: 'postgres', serverVersion: server });
    expect(dump).toContain(` ${h!.dumpVersion.split(' ')[0]}`);
  });

  it('reads the one-byte compression field of format 1.15 and wider ints', () => {
    for (const [minor, intSize] of [[14, 4], [15, 4], [16, 8]] as const) {
      expect(parseArchiveHeader(pgArchiveHeader({ minor, intSize, database: 'db', server: '17.2', dump: '17.2 (Debian)' }))).toEqual({
        format: `1.${minor}.0`,
        database: 'db',
        serverVersion: '17.2',
        dumpVersion: '17.2 (Debian)',
      });
    }
  });

  it('gives nothing for a truncated header, another format or other bytes', () => {
    const full = pgArchiveHeader({ minor: 14, database: 'db', server: '15.4', dump: '15.4' });
    for (let n = 0; n < full.length; n++) expect(parseArchiveHeader(full.subarray(0, n))).toBeUndefined();
    const tar = Buffer.from(full);
    tar[10] = 3; // the archive kind: tar
    expect(parseArchiveHeader(tar)).toBeUndefined();
    const old = Buffer.from(full);
    old[6] = 9; // format 1.9 has no versions in its header
    expect(parseArchiveHeader(old)).toBeUndefined();
    expect(parseArchiveHeader(Buffer.from('-- PostgreSQL database dump\n'))).toBeUndefined();
    expect(parseArchiveHeader(pgArchiveHeader({ minor: 14, database: 'db', server: 'not a version', dump: '15.4' }))).toBeUndefined();
  });
});
