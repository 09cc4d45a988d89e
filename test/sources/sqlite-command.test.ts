// SQLite and command sources round-trip, and a failing dump command commits nothing.
import { link, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../../src/operations/backup.ts';
import { restore } from '../../src/operations/restore.ts';
import { workspace, type Workspace } from '../helpers/fixture.ts';

let ws: Workspace;
const sites = `sites:\n  a: { type: fs, path: ./site-a }\n  b: { type: fs, path: ./site-b }\n`;

beforeAll(async () => {
  ws = await workspace();
});
afterAll(() => ws?.cleanup());

describe('SQLite source', () => {
  it('copies a database that is open for writing, and restores it with an integrity check', async () => {
    const path = join(ws.dir, 'app.db');
    const live = new DatabaseSync(path);
    live.exec("PRAGMA journal_mode = WAL; CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, data BLOB)");
    const insert = live.prepare('INSERT INTO items (name, data) VALUES (?, ?)');
    for (let i = 0; i < 5000; i++) insert.run(`item ${i} — ünïcødé`, Buffer.alloc(100, i % 256));
    // An uncommitted transaction stays open during the backup: the copy holds only committed rows.
    live.exec('BEGIN; INSERT INTO items (name) VALUES (\'uncommitted\')');
    const ctx = await ws.context(`${sites}jobs:\n  app:\n    source: { type: sqlite, path: ./app.db }\n`);
    const r = await backup(ctx, 'app');
    live.exec('ROLLBACK');
    live.close();
    expect(r.ok).toBe(true);
    const target = join(ws.dir, 'restored', 'app.db');
    const rr = await restore(ctx, 'app', { snapshot: 'latest', target });
    expect(rr.facts).toMatchObject({ integrityCheck: 'ok' });
    const copy = new DatabaseSync(target, { readOnly: true });
    expect(copy.prepare('SELECT count(*) AS n FROM items').get()).toEqual({ n: 5000 });
    copy.close();
    await expect(restore(ctx, 'app', { snapshot: 'latest', target })).rejects.toThrow(/exists: choose a new file, or add --force/);
    await restore(ctx, 'app', { snapshot: 'latest', target, force: true });
    await expect(restore(ctx, 'app', { snapshot: 'latest', target: path, force: true })).rejects.toThrow(/is the source database file of job app/);
    // A file that cannot be written is the target's failure, not the sites'.
    await expect(restore(ctx, 'app', { snapshot: 'latest', target: '/proc/lifeboat-app.db' })).rejects.toMatchObject({
      code: 'RESTORE_FAILED',
      message: expect.stringMatching(/^cannot write the restore target \/proc\/lifeboat-app\.db: /),
    });
    // The live file under another name is refused as well: a symbolic link to it, a hard link.
    await symlink(path, join(ws.dir, 'soft.db'));
    await link(path, join(ws.dir, 'hard.db'));
    for (const other of ['soft.db', 'hard.db']) {
      await expect(restore(ctx, 'app', { snapshot: 'latest', target: join(ws.dir, other), force: true })).rejects.toThrow(/is, through a link, the source database file .*app\.db of job app/);
    }
    ctx.close();
  });

  it('a file that is not a database fails the backup with its path', async () => {
    await writeFile(join(ws.dir, 'not.db'), 'this is not a database, just text '.repeat(200));
    const ctx = await ws.context(`${sites}jobs:\n  bad:\n    source: { type: sqlite, path: ./not.db }\n`);
    await expect(backup(ctx, 'bad')).rejects.toThrow(/SQLite backup of .*not\.db failed|cannot open the SQLite database .*not\.db/);
    ctx.close();
  });
});

describe('command source', () => {
  it('dumps stdout of a command and restores through another, with env', async () => {
    const ctx = await ws.context(
      `${sites}jobs:\n  cmd:\n    source:\n      type: command\n      dump: [sh, -c, 'printf "hello %s\\n" "$GREETING"; head -c 200000 /dev/zero']\n      restore: [sh, -c, 'cat > "$LIFEBOAT_RESTORE_TARGET"']\n      env: { GREETING: "wörld" }\n`,
    );
    const r = await backup(ctx, 'cmd');
    expect(r.manifest!.payload.plaintext.bytes).toBe(200_000 + 'hello wörld\n'.length + 1);
    const target = join(ws.dir, 'cmd-out.bin');
    await restore(ctx, 'cmd', { snapshot: 'latest', target });
    const out = await readFile(target);
    expect(out.subarray(0, 13).toString()).toBe('hello wörld\n');
    expect(out.length).toBe(r.manifest!.payload.plaintext.bytes);
    // The command gets the target as typed; the report names it without its password.
    const url = 'redis://:typed-secret-7f3a@127.0.0.1:6399/0?auth=typed-secret-7f3a';
    const seen = join(ws.dir, 'cmd-target.txt');
    const c2 = await ws.context(`${sites}jobs:\n  cmd:\n    source:\n      type: command\n      dump: [echo, hi]\n      restore: [sh, -c, 'cat > /dev/null; printf %s "$LIFEBOAT_RESTORE_TARGET" > ${seen}']\n`);
    const rr = await restore(c2, 'cmd', { snapshot: 'latest', target: url });
    expect(await readFile(seen, 'utf8')).toBe(url);
    expect(JSON.stringify(rr)).not.toContain('typed-secret');
    expect(rr.facts).toMatchObject({ target: 'redis://127.0.0.1:6399/0' });
    c2.close();
    ctx.close();
  });

  it('a command that exits non-zero after writing output commits nothing and shows its stderr', async () => {
    const ctx = await ws.context(`${sites}jobs:\n  failing:\n    source: { type: command, dump: [sh, -c, 'echo partial output; echo disk full >&2; exit 3'] }\n`);
    await expect(backup(ctx, 'failing')).rejects.toThrow(/dump command sh exited with status 3: disk full/);
    expect(await readdir(join(ws.dir, 'site-a', 'jobs', 'failing', 'snapshots')).catch(() => [])).toEqual([]);
    ctx.close();
  });

  it('a job without a restore command says how to restore instead', async () => {
    const ctx = await ws.context(`${sites}jobs:\n  oneway:\n    source: { type: command, dump: [echo, hi] }\n`);
    await backup(ctx, 'oneway');
    await expect(restore(ctx, 'oneway', { snapshot: 'latest', target: 'x' })).rejects.toThrow(/has no restore command/);
    ctx.close();
  });
});
