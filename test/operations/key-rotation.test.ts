// runbooks/key-rotation.md, exercised: new snapshots to a new recipient, old ones still restorable
// with an identity file that holds both identities, and a clear refusal with only the new one.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { generateIdentity } from '../../src/crypto/keys.ts';
import { backup } from '../../src/operations/backup.ts';
import { Context } from '../../src/operations/context.ts';
import { restore } from '../../src/operations/restore.ts';
import { workspace, type Workspace } from '../helpers/fixture.ts';

let ws: Workspace;
const context = (recipient: string, identityFile: string): Context =>
  new Context(
    parseConfig(
      `encryption:\n  recipients: [${recipient}]\n  identityFile: ${identityFile}\nsites:\n  a: { type: fs, path: ./site-a }\njobs:\n  docs:\n    source: { type: files, paths: [./data] }\n`,
      join(ws.dir, 'lifeboat.yaml'),
    ),
  );

beforeAll(async () => {
  ws = await workspace();
  await mkdir(join(ws.dir, 'data'));
  await writeFile(join(ws.dir, 'data', 'a.txt'), 'before rotation\n');
});
afterAll(() => ws?.cleanup());

describe('key rotation', () => {
  it('keeps old snapshots restorable with both identities, and names the problem with only the new one', async () => {
    const old = await backup(context(ws.recipient, './identity.txt'), 'docs');
    const next = generateIdentity();
    await writeFile(join(ws.dir, 'identity-2.txt'), next.text, { mode: 0o600 });
    await writeFile(join(ws.dir, 'data', 'a.txt'), 'after rotation\n');
    const fresh = await backup(context(next.recipient, './identity-2.txt'), 'docs');
    await writeFile(join(ws.dir, 'identities.txt'), `${next.text}${await readFile(ws.identityFile, 'utf8')}`, { mode: 0o600 });
    const both = context(next.recipient, './identities.txt');
    await restore(both, 'docs', { snapshot: old.snapshotId!, target: join(ws.dir, 'r-old') });
    await restore(both, 'docs', { snapshot: fresh.snapshotId!, target: join(ws.dir, 'r-new') });
    expect(await readFile(join(ws.dir, 'r-old', 'a.txt'), 'utf8')).toBe('before rotation\n');
    expect(await readFile(join(ws.dir, 'r-new', 'a.txt'), 'utf8')).toBe('after rotation\n');
    const onlyNew = context(next.recipient, './identity-2.txt');
    await expect(restore(onlyNew, 'docs', { snapshot: old.snapshotId!, target: join(ws.dir, 'r-fail') })).rejects.toThrow(/identit/i);
  });
});
