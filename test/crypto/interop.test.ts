// age interoperability: the `age` CLI and the `age-encryption` package decrypt what Lifeboat
// encrypts, and Lifeboat decrypts what they encrypt — across chunk boundaries and sizes.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Decrypter, Encrypter } from 'age-encryption';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecryptStream, createEncryptStream } from '../../src/crypto/age.ts';
import { generateIdentity, parseIdentityFile, parseRecipient, readIdentityFile } from '../../src/crypto/keys.ts';
import { run, through } from '../helpers/streams.ts';

const sizes = [0, 1, 65_535, 65_536, 65_537, 3 * 65_536, 1_000_003];
let dir: string;
let identityPath: string;
let recipient: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifeboat-age-'));
  identityPath = join(dir, 'id.txt');
  const id = generateIdentity();
  await writeFile(identityPath, id.text, { mode: 0o600 });
  recipient = id.recipient;
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('age interop', () => {
  it.each(sizes)('the age CLI decrypts what Lifeboat encrypts (%i bytes)', async (size) => {
    const plain = randomBytes(size);
    const enc = await through(createEncryptStream([parseRecipient(recipient)]), plain);
    const out = await run('age', ['-d', '-i', identityPath], enc);
    expect(out.equals(plain)).toBe(true);
  });

  it.each(sizes)('Lifeboat decrypts what the age CLI encrypts (%i bytes)', async (size) => {
    const plain = randomBytes(size);
    const enc = await run('age', ['-r', recipient], plain);
    const out = await through(createDecryptStream(await readIdentityFile(identityPath)), enc, 7777);
    expect(out.equals(plain)).toBe(true);
  });

  it('keys made by age-keygen work unchanged, with several identities in one file', async () => {
    const keyFile = join(dir, 'keygen.txt');
    await run('age-keygen', ['-o', keyFile]);
    const other = generateIdentity().text;
    const text = `${other}\n# a comment\n\n${await readFile(keyFile, 'utf8')}`;
    const identities = parseIdentityFile(text, 'keys.txt');
    expect(identities).toHaveLength(2);
    const pub = (await run('age-keygen', ['-y', keyFile])).toString().trim();
    const plain = randomBytes(200_000);
    const enc = await run('age', ['-r', pub], plain);
    expect((await through(createDecryptStream(identities), enc)).equals(plain)).toBe(true);
  });

  it('encrypts to several recipients, each of which can decrypt', async () => {
    const a = generateIdentity();
    const b = generateIdentity();
    const plain = randomBytes(100_000);
    const enc = await through(createEncryptStream([parseRecipient(a.recipient), parseRecipient(b.recipient)]), plain);
    for (const id of [a, b]) {
      expect((await through(createDecryptStream(parseIdentityFile(id.text, 'x')), enc)).equals(plain)).toBe(true);
    }
  });

  it.each(sizes)('the age-encryption package and Lifeboat agree in both directions (%i bytes)', async (size) => {
    const plain = randomBytes(size);
    const secret = (await readFile(identityPath, 'utf8')).split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-1'))!;
    const e = new Encrypter();
    e.addRecipient(recipient);
    const theirs = Buffer.from(await e.encrypt(plain));
    expect((await through(createDecryptStream(await readIdentityFile(identityPath)), theirs)).equals(plain)).toBe(true);
    const ours = await through(createEncryptStream([parseRecipient(recipient)]), plain);
    const d = new Decrypter();
    d.addIdentity(secret);
    expect(Buffer.from(await d.decrypt(ours)).equals(plain)).toBe(true);
  });
});

describe('age errors say which failure it is', () => {
  it('no identity matches', async () => {
    const enc = await through(createEncryptStream([parseRecipient(generateIdentity().recipient)]), Buffer.from('x'));
    await expect(through(createDecryptStream(await readIdentityFile(identityPath)), enc)).rejects.toThrow(/no identity matches/);
  });

  it('a flipped payload byte names its offset', async () => {
    const enc = await through(createEncryptStream([parseRecipient(recipient)]), randomBytes(300_000));
    enc[enc.length - 1000]! ^= 1;
    await expect(through(createDecryptStream(await readIdentityFile(identityPath)), enc)).rejects.toThrow(/corrupt at byte \d+/);
  });

  it('a corrupt header', async () => {
    const enc = await through(createEncryptStream([parseRecipient(recipient)]), Buffer.from('hello'));
    enc[enc.indexOf('\n--- ') + 5] = 0x21;
    await expect(through(createDecryptStream(await readIdentityFile(identityPath)), enc)).rejects.toThrow(/not a valid age file/);
  });

  it('an unreadable identity file names the file and never its content', async () => {
    await expect(readIdentityFile(join(dir, 'missing.txt'))).rejects.toThrow(/missing\.txt: file not found/);
    const bad = join(dir, 'bad.txt');
    await writeFile(bad, 'AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQ\n');
    const err = await readIdentityFile(bad).catch((e: Error) => e);
    expect(String(err)).toMatch(/bad\.txt:1: invalid age identity/);
    expect(String(err)).not.toContain('QQQQQQQQ');
  });
});
