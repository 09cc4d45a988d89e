// Signed manifests and drill reports: a replaced manifest or report is detected, so a drill report
// is evidence that a restore really passed.
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson, checkSignature, generateSigningKey, parsePublicKey, parseSigningKey, signDocument } from '../../src/crypto/signing.ts';
import { backup } from '../../src/operations/backup.ts';
import type { Context } from '../../src/operations/context.ts';
import { drill, drillHistory } from '../../src/operations/drill.ts';
import { restore } from '../../src/operations/restore.ts';
import { listSnapshots } from '../../src/operations/snapshots.ts';
import { verify } from '../../src/operations/verify.ts';
import { workspace, type Workspace } from '../helpers/fixture.ts';
import { execFileP } from '../helpers/streams.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'lifeboat');

describe('signatures', () => {
  it('sign the canonical JSON: key order does not matter, any change does', () => {
    const k = parseSigningKey(generateSigningKey().pem);
    const trusted = new Map([[k.publicKey, parsePublicKey(k.publicKey)]]);
    const signed = signDocument({ b: 1, a: { y: [1, 'x'], x: null } }, k);
    expect(canonicalJson({ b: 1, a: { y: [1, 'x'], x: null } })).toBe('{"a":{"x":null,"y":[1,"x"]},"b":1}');
    expect(checkSignature(JSON.parse(JSON.stringify({ a: signed.a, signature: signed.signature, b: 1 })) as Record<string, unknown>, trusted)).toBeUndefined();
    expect(checkSignature({ ...signed, b: 2 }, trusted)).toMatch(/does not match its content/);
    expect(checkSignature({ b: 1 }, trusted)).toMatch(/not signed/);
    const other = parseSigningKey(generateSigningKey().pem);
    expect(checkSignature(signDocument({ b: 1 }, other), trusted)).toMatch(/not one of signing\.publicKeys/);
  });
});

describe('signed snapshots and drill reports', () => {
  let ws: Workspace;
  let ctx: Context;
  let publicKey: string;
  const cfg = (pub: string): string =>
    `signing:\n  keyFile: ./signing.pem\n  publicKeys: [${pub}]\nsites:\n  a: { type: fs, path: ./site-a }\njobs:\n  docs:\n    source: { type: files, paths: [./data] }\n    drill:\n      target: { type: directory }\n      checks:\n        - { file: a.txt }\n`;

  beforeAll(async () => {
    ws = await workspace();
    await mkdir(join(ws.dir, 'data'));
    await writeFile(join(ws.dir, 'data', 'a.txt'), 'alpha\n');
    const { stdout } = await execFileP(process.execPath, [bin, 'keygen', '--signing', '-o', join(ws.dir, 'signing.pem')]);
    publicKey = stdout.trim();
    expect(publicKey).toMatch(/^ed25519:[A-Za-z0-9_-]{43}$/);
    ctx = await ws.context(cfg(publicKey));
  });
  afterAll(async () => {
    ctx?.close();
    await ws?.cleanup();
  });

  it('signs manifests and reports, and restores and drills what it signed', async () => {
    const r = await backup(ctx, 'docs');
    expect(r.manifest!.signature).toMatchObject({ algorithm: 'ed25519', publicKey });
    await restore(ctx, 'docs', { snapshot: 'latest', target: join(ws.dir, 'restored') });
    const { report } = await drill(ctx, 'docs');
    expect(report.outcome).toBe('passed');
    const stored = JSON.parse(await readFile(join(ws.dir, 'site-a', 'jobs', 'docs', 'drills', `${report.drillId}.json`), 'utf8')) as { signature?: unknown };
    expect(stored.signature).toMatchObject({ algorithm: 'ed25519', publicKey });
  });

  it('treats an altered manifest as damaged: not listed, not restored, named by verify', async () => {
    const dir = join(ws.dir, 'site-a', 'jobs', 'docs', 'snapshots');
    const [id] = await readdir(dir);
    const file = join(dir, id!, 'manifest.json');
    const m = JSON.parse(await readFile(file, 'utf8')) as { source: { facts: Record<string, unknown> } };
    m.source.facts.note = 'changed after signing';
    await writeFile(file, JSON.stringify(m));
    expect((await listSnapshots(ctx, 'docs')).snapshots).toEqual([]);
    await expect(restore(ctx, 'docs', { snapshot: id!, target: join(ws.dir, 'restored-2') })).rejects.toThrow(/has no snapshot/);
    const v = await verify(ctx, 'docs');
    expect(v.checked).toEqual([{ site: 'a', snapshotId: id, ok: false, problem: expect.stringMatching(/the manifest is not trusted: its signature does not match its content/) }]);
  });

  it('does not list a forged drill report', async () => {
    const dir = join(ws.dir, 'site-a', 'jobs', 'docs', 'drills');
    const [name] = await readdir(dir);
    const file = join(dir, name!);
    const r = JSON.parse(await readFile(file, 'utf8')) as { outcome: string };
    r.outcome = 'failed';
    await writeFile(file, JSON.stringify(r));
    const h = await drillHistory(ctx, 'docs');
    expect(h.reports).toEqual([]);
    expect(h.errors).toEqual([expect.stringMatching(/drill report .* is not trusted: its signature does not match/)]);
  });

  it('refuses a signing key that is not Ed25519, naming the config key', async () => {
    await writeFile(join(ws.dir, 'signing.pem'), 'not a key');
    await expect(ws.config(cfg(publicKey))).rejects.toThrow(/signing\.keyFile: .*signing\.pem is not a PEM private key/);
    await expect(ws.config(cfg('ed25519:short'))).rejects.toThrow(/signing\.publicKeys\[0\]: "ed25519:short" is not an Ed25519 public key/);
  });
});
