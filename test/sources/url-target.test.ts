// A restore target of the wrong kind is a usage error: a URL given to a source that restores into
// a path is refused (not turned into a folder named "postgres:"), an empty one is not taken for the
// current folder, and a URL is named without the user, password, path or query that someone may
// have typed into it.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LifeboatError } from '../../src/errors.ts';
import { backup } from '../../src/operations/backup.ts';
import type { Context } from '../../src/operations/context.ts';
import { restore } from '../../src/operations/restore.ts';
import { createSource } from '../../src/sources/registry.ts';
import { describeUrlTarget, isUrlTarget, redactTarget } from '../../src/sources/url-target.ts';
import { workspaceWithData, type Workspace } from '../helpers/fixture.ts';

const SECRET_URL = 'postgres://admin:hunter2-secret@db.example:5432/prod?sslpassword=other-secret';
const connection = { scheme: 'postgres', host: '127.0.0.1', port: 5432, database: 'x' } as const;

let ws: Workspace;
let ctx: Context;

beforeAll(async () => {
  ws = await workspaceWithData();
  ctx = await ws.context(`sites:\n  a: { type: fs, path: ./site-a }\njobs:\n  files:\n    source: { type: files, paths: [./data] }\n`);
  await backup(ctx, 'files', {});
});
afterAll(async () => {
  ctx?.close();
  await ws?.cleanup();
});

async function refusal(p: Promise<unknown>): Promise<LifeboatError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LifeboatError);
  expect((err as LifeboatError).code).toBe('USAGE');
  return err as LifeboatError;
}

describe('restore targets that are URLs', () => {
  it('tells URLs from paths, and names them by scheme and host only', () => {
    expect(isUrlTarget('postgres://h/db')).toBe(true);
    expect(isUrlTarget('S3+https://bucket')).toBe(true);
    expect(isUrlTarget('/var/restore')).toBe(false);
    expect(isUrlTarget('./postgres:/x')).toBe(false);
    expect(isUrlTarget('postgres:db')).toBe(false);
    expect(describeUrlTarget(SECRET_URL)).toBe('a URL (postgres://db.example:5432/…)');
    expect(describeUrlTarget('https://h.example')).toBe('a URL (https://h.example)');
  });

  it('a files restore refuses a database URL and creates nothing', async () => {
    const err = await refusal(restore(ctx, 'files', { snapshot: 'latest', target: SECRET_URL }));
    expect(err.message).toBe('a files snapshot restores into a directory, not a URL (postgres://db.example:5432/…)');
    expect(existsSync(resolve('postgres:'))).toBe(false);
  });

  it('an empty target is refused, not taken for the current folder', async () => {
    for (const target of ['', '  ']) {
      const err = await refusal(restore(ctx, 'files', { snapshot: 'latest', target }));
      expect(err.message).toBe('the restore target is empty: a files snapshot restores into a directory');
    }
  });

  it('each source names a wrong target without the secrets typed into it', async () => {
    const sources = [
      createSource({ type: 'files', paths: ['/nonexistent'], include: [], exclude: [], onUnreadable: 'fail' }),
      createSource({ type: 'sqlite', path: '/nonexistent.db' }),
      createSource({ type: 'postgres', connection, schemas: [], excludeSchemas: [], tables: [], excludeTables: [], globals: false }),
      createSource({ type: 'mysql', connection: { ...connection, scheme: 'mysql', port: 3306 }, databases: [] }),
    ];
    const target = 'https://alice:hunter2-secret@files.example/share?token=other-secret';
    for (const source of sources) {
      const err = await refusal(source.checkTarget(target, {}));
      expect(err.message).toMatch(/restores into .*, not a URL \(https:\/\/files\.example\/…\)$/);
      expect(err.message).not.toMatch(/alice|hunter2|other-secret/);
    }
  });
});

describe('targets in logs and messages', () => {
  it('keep a URL without its password and query, and a path as it is', () => {
    expect(redactTarget(SECRET_URL)).toBe('postgres://admin@db.example:5432/prod');
    expect(redactTarget('/var/restore/x')).toBe('/var/restore/x');
    expect(redactTarget('postgres://h/db')).toBe('postgres://h/db');
  });
});
