// MySQL/MariaDB source against the running MariaDB: a database with utf8mb4 text, blobs,
// decimals, a view, routines and triggers is identical after backup → restore into another one.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../../src/operations/backup.ts';
import type { Context } from '../../src/operations/context.ts';
import { preflight, restore } from '../../src/operations/restore.ts';
import { FaultProxy } from '../faults/proxy.ts';
import { workspace, type Workspace } from '../helpers/fixture.ts';
import { execFileP } from '../helpers/streams.ts';

const MY = { host: process.env.LIFEBOAT_TEST_MYHOST ?? '127.0.0.1', port: process.env.LIFEBOAT_TEST_MYPORT ?? '3306', user: process.env.LIFEBOAT_TEST_MYUSER ?? 'root' };
const server = `mysql://${MY.user}@${MY.host}:${MY.port}`;
const suffix = randomBytes(3).toString('hex');
const src = `lifeboat_src_${suffix}`;
const dst = `lifeboat_dst_${suffix}`;
let ws: Workspace;
let ctx: Context;

async function sql(text: string, db?: string): Promise<string> {
  const args = ['-h', MY.host, '-P', MY.port, '-u', MY.user, '--protocol=TCP', '--default-character-set=utf8mb4', '-N', '-B', ...(db ? [db] : [])];
  args.push('-e', `SET SESSION group_concat_max_len = 4000000; ${text}`);
  return (await execFileP('mariadb', args)).stdout.trim();
}

async function fingerprint(db: string): Promise<Record<string, string>> {
  const { stdout: schema } = await execFileP('mariadb-dump', ['-h', MY.host, '-P', MY.port, '-u', MY.user, '--protocol=TCP', '--no-data', '--skip-comments', '--routines', '--triggers', '--skip-dump-date', db]);
  const out: Record<string, string> = { schema: schema.replace(/AUTO_INCREMENT=\d+ /g, '') };
  for (const t of ['customers', 'orders', 'audit']) {
    out[t] = await sql(`SELECT COUNT(*), MD5(GROUP_CONCAT(CONCAT_WS('|', ${t === 'customers' ? 'id, name, bio, balance, HEX(avatar), created_at' : t === 'orders' ? 'id, customer_id, amount, note' : 'id, what'}) ORDER BY id SEPARATOR '#')) FROM ${t}`, db);
  }
  out.view = await sql('SELECT COUNT(*), SUM(amount) FROM big_orders', db);
  out.function = await sql('SELECT order_total(7)', db);
  out.routines = await sql(`SELECT GROUP_CONCAT(ROUTINE_NAME ORDER BY 1) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = '${db}'`);
  out.triggers = await sql(`SELECT GROUP_CONCAT(TRIGGER_NAME ORDER BY 1) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '${db}'`);
  return out;
}

beforeAll(async () => {
  ws = await workspace();
  await sql(`CREATE DATABASE ${src} CHARACTER SET utf8mb4`);
  await execFileP('sh', ['-c', `mariadb -h ${MY.host} -P ${MY.port} -u ${MY.user} --protocol=TCP --default-character-set=utf8mb4 ${src} < "$1"`, 'sh', join(import.meta.dirname, 'fixtures', 'mariadb-realistic.sql')]);
  ctx = await ws.context(`sites:\n  a: { type: fs, path: ./site-a }\n  b: { type: fs, path: ./site-b }\njobs:\n  shop:\n    source: { type: mysql, url: "${server}/${src}" }\n`);
});
afterAll(async () => {
  ctx?.close();
  for (const db of [src, dst]) await sql(`DROP DATABASE IF EXISTS ${db}`).catch(() => {});
  await ws?.cleanup();
});

describe('MySQL/MariaDB source', () => {
  it('restores into a new database with identical schema, data, routines and triggers', async () => {
    const r = await backup(ctx, 'shop');
    expect(r.ok).toBe(true);
    expect(r.manifest!.source.facts).toMatchObject({ databases: [src], client: expect.stringMatching(/mariadb-dump|mysqldump/), serverVersion: expect.stringMatching(/MariaDB|^\d/) });
    const rr = await restore(ctx, 'shop', { snapshot: 'latest', target: `${server}/${dst}` });
    expect(rr.facts).toMatchObject({ database: dst, created: true });
    expect(await fingerprint(dst)).toEqual(await fingerprint(src));
  });

  it('refuses a non-empty target without --clean, and restores over it with --clean', async () => {
    await expect(restore(ctx, 'shop', { snapshot: 'latest', target: `${server}/${dst}` })).rejects.toThrow(/is not empty \(\d+ tables\).*--clean/);
    await sql('DELETE FROM audit', dst);
    await restore(ctx, 'shop', { snapshot: 'latest', target: `${server}/${dst}`, clean: true });
    expect(await fingerprint(dst)).toEqual(await fingerprint(src));
  });

  it('removes the database it created when the restore fails later', async () => {
    // The database is created while the catalog is read, before the snapshot is known.
    const gone = `${dst}_gone`;
    await expect(restore(ctx, 'shop', { snapshot: '20200101T000000Z-zzzzzz', target: `${server}/${gone}` })).rejects.toThrow(/20200101T000000Z-zzzzzz/);
    expect(await sql(`SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = '${gone}'`)).toBe('0');
  });

  it('refuses the source database as the target, and a wrong kind of target', async () => {
    await expect(restore(ctx, 'shop', { snapshot: 'latest', target: `${server}/${src}`, clean: true })).rejects.toThrow(/is the source database of job shop/);
    await expect(restore(ctx, 'shop', { snapshot: 'latest', target: '/tmp/somewhere' })).rejects.toThrow(/restores into a database URL such as mysql:\/\//);
  });

  it('knows a source database under another address by the server it is on', async () => {
    // A port forwarded to the same server, as a DNS alias or a proxy would be.
    const forward = await new FaultProxy(`tcp://${MY.host}:${MY.port}`).start();
    const alias = `mysql://${MY.user}@127.0.0.1:${forward.port}`;
    try {
      const before = await fingerprint(src);
      const why = /is a source database \(the same server, by its host name, port and data folder, under another address\) of job shop.*--into-source/;
      await expect(restore(ctx, 'shop', { snapshot: 'latest', target: `${alias}/${src}`, clean: true })).rejects.toThrow(why);
      const dry = await preflight(ctx, 'shop', { snapshot: 'latest', target: `${alias}/${src}`, clean: true });
      expect(dry.checks.find((c) => c.check === 'not the source')).toMatchObject({ ok: false, detail: expect.stringMatching(why) });
      expect(await fingerprint(src)).toEqual(before);
    } finally {
      await forward.stop();
    }
  });

  it('a wrong password fails with the server message and commits nothing', async () => {
    const c = await ws.context(
      `sites:\n  a: { type: fs, path: ./site-a }\njobs:\n  shop:\n    source: { type: mysql, url: "mysql://lifeboat_nobody@${MY.host}:${MY.port}/${src}", password: "\${env:LB_MY_PASS}" }\n`,
      { ...process.env, LB_MY_PASS: 'wrong-password-1234' },
    );
    const err = await backup(c, 'shop').catch((e: unknown) => e);
    expect(String(err)).toMatch(/cannot dump mysql:\/\/lifeboat_nobody@.*Access denied for user 'lifeboat_nobody'/);
    expect(String(err)).not.toContain('wrong-password-1234');
    c.close();
  });
});
