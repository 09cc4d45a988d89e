import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEncryptStream } from '../../src/crypto/age.ts';
import { generateIdentity, parseIdentityFile, parseRecipient } from '../../src/crypto/keys.ts';
import { LifeboatError } from '../../src/errors.ts';
import { Plaintext, WorkerStart, type PlaintextInput } from '../../src/pipeline/restore-worker/plaintext.ts';
import { ParallelZstdCompress } from '../../src/pipeline/zstd/compress.ts';
import { FsSite } from '../../src/sites/fs/fs-site.ts';
import type { Site } from '../../src/sites/site.ts';
import { runConsumer } from '../../src/sources/child.ts';
import { execFileP } from '../helpers/streams.ts';

// 5 MiB of half-compressible data: several zstd frames and many age chunks.
const plain = Buffer.concat(Array.from({ length: 40 }, (_, i) => (i % 2 ? randomBytes(128 << 10) : Buffer.alloc(128 << 10, i))));
const sha = createHash('sha256').update(plain).digest('hex');
const key = generateIdentity();
const identity = parseIdentityFile(key.text, 'test identity')[0]!;

let dir: string;
let site: FsSite;
let cipherBytes: number;
let cipherSha: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifeboat-restore-worker-'));
  site = new FsSite('local', join(dir, 'site'));
  const sealed = new PassThrough();
  const stored = site.put('payload', sealed);
  await pipeline(Readable.from([plain]), new ParallelZstdCompress({ level: 3, frameBytes: 1 << 20 }), createEncryptStream([parseRecipient(key.recipient)]), sealed);
  cipherBytes = (await stored).bytes;
  cipherSha = createHash('sha256').update(await readFile(join(dir, 'site', 'payload'))).digest('hex');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function input(o: Partial<PlaintextInput> = {}): PlaintextInput {
  return {
    site,
    key: 'payload',
    identities: [identity],
    cipher: { bytes: cipherBytes, sha256: cipherSha, what: 'the stored payload' },
    plain: { bytes: plain.length, sha256: sha, what: 'the restored payload' },
    signal: new AbortController().signal,
    ...o,
  };
}

describe('the restore worker', () => {
  it('hands a consumer process the verified plaintext as its stdin', async () => {
    const out = join(dir, 'direct.bin');
    const progress: number[] = [];
    const p = await Plaintext.start(input({ onProgress: (b) => progress.push(b) }));
    await runConsumer({ cmd: 'sh', args: ['-c', `cat > "${out}"`], what: 'cat' }, p, new AbortController().signal);
    expect((await readFile(out)).equals(plain)).toBe(true);
    expect(progress.at(-1)).toBe(cipherBytes);
  });

  it('reads as an ordinary stream in this thread too', async () => {
    const p = await Plaintext.start(input());
    const chunks: Buffer[] = [];
    for await (const c of p) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(plain)).toBe(true);
  });

  it('kills a consumer before it could see the end of a stream that fails its check', async () => {
    // `sh` would write the marker once cat saw the end of its input: it must never get there.
    const out = join(dir, 'forged.bin');
    const marker = join(dir, 'forged.done');
    const p = await Plaintext.start(input({ cipher: { bytes: cipherBytes, sha256: '0'.repeat(64), what: 'the stored payload' } }));
    const run = runConsumer({ cmd: 'sh', args: ['-c', `cat > "${out}"; echo end > "${marker}"`], what: 'cat' }, p, new AbortController().signal);
    await expect(run).rejects.toThrow(/the stored payload: SHA-256 differs from the manifest/);
    expect(existsSync(marker)).toBe(false);
    // The last chunk was held back: what cat got is short.
    expect((await readFile(out)).length).toBeLessThan(plain.length);
  });

  it('refuses a whole payload swapped for another of the same size sealed to the same recipient', async () => {
    // Both decrypt and decompress cleanly (age and zstd see nothing wrong); only the stored
    // object's SHA-256 in the manifest tells them apart.
    const seal = async (name: string): Promise<{ bytes: number; sha256: string }> => {
      const sealed = new PassThrough();
      const stored = site.put(name, sealed);
      await pipeline(Readable.from([randomBytes(2 << 20)]), new ParallelZstdCompress({ level: 3, frameBytes: 1 << 20 }), createEncryptStream([parseRecipient(key.recipient)]), sealed);
      await stored;
      const body = await readFile(join(dir, 'site', name));
      return { bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') };
    };
    const genuine = await seal('genuine');
    const swapped = await seal('swapped');
    expect(swapped.bytes).toBe(genuine.bytes);
    const out = join(dir, 'swapped.bin');
    const p = await Plaintext.start(input({ key: 'swapped', cipher: { ...genuine, what: 'the stored payload' }, plain: { bytes: 2 << 20, sha256: '', what: 'the restored payload' } }));
    const run = runConsumer({ cmd: 'sh', args: ['-c', `cat > "${out}"`], what: 'cat' }, p, new AbortController().signal);
    await expect(run).rejects.toThrow(/the stored payload: SHA-256 differs from the manifest/);
    // The check may fail the restore before the shell has even created the file: nothing reached it.
    const reached = await readFile(out).then(
      (b) => b.length,
      (e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? 0 : Promise.reject(e)),
    );
    expect(reached).toBeLessThan(2 << 20);
  });

  it('fails the stream, instead of ending it, when read in this thread', async () => {
    const p = await Plaintext.start(input({ plain: { bytes: plain.length + 1, sha256: sha, what: 'the restored payload' } }));
    const read = (async () => {
      for await (const c of p) void c;
    })();
    await expect(read).rejects.toThrow(/the restored payload: \d+ bytes instead of \d+/);
  });

  it('names a failed site read as the cause, not the truncated stream it leaves', async () => {
    // A site whose download breaks after 1 MiB: read in this thread and fed to the worker.
    const body = await readFile(join(dir, 'site', 'payload'));
    const breaking = {
      name: 'flaky',
      get: async () =>
        Readable.from(
          (async function* () {
            yield body.subarray(0, 1 << 20);
            throw new LifeboatError('SITE_ERROR', 'site "flaky": connection reset while reading payload', { permanent: false });
          })(),
        ),
    } as Partial<Site> as Site;
    const p = await Plaintext.start(input({ site: breaking }));
    const run = runConsumer({ cmd: 'sh', args: ['-c', 'cat > /dev/null'], what: 'cat' }, p, new AbortController().signal);
    await expect(run).rejects.toThrow(/site "flaky": connection reset/);
  });

  it('feeds a download that arrives in pieces of any size', async () => {
    // Pieces of 7,777 bytes: gathered into whole buffers in this thread before they are handed over.
    const body = await readFile(join(dir, 'site', 'payload'));
    const pieces = Array.from({ length: Math.ceil(body.length / 7777) }, (_, i) => body.subarray(i * 7777, (i + 1) * 7777));
    const remote = { name: 'remote', get: async () => Readable.from(pieces) } as Partial<Site> as Site;
    const p = await Plaintext.start(input({ site: remote }));
    const chunks: Buffer[] = [];
    for await (const c of p) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(plain)).toBe(true);
  });

  it('closes the stored file after a restore, and after an aborted one', async () => {
    const payload = join(dir, 'site', 'payload');
    const open = async (): Promise<number> => {
      const fds = await readdir('/proc/self/fd');
      const targets = await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
      return targets.filter((t) => t === payload).length;
    };
    const before = await open();
    const p = await Plaintext.start(input());
    for await (const _ of p) void _;
    const ac = new AbortController();
    const q = await Plaintext.start(input({ signal: ac.signal }));
    const run = runConsumer({ cmd: 'sleep', args: ['30'], what: 'sleep' }, q, ac.signal);
    setTimeout(() => ac.abort(), 200);
    await expect(run).rejects.toMatchObject({ code: 'ABORTED' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await open()).toBe(before);
  });

  it('stops the worker and the consumer when the restore is aborted', async () => {
    const ac = new AbortController();
    const p = await Plaintext.start(input({ signal: ac.signal }));
    // A consumer that never reads: the worker blocks on a full socket until the abort.
    const run = runConsumer({ cmd: 'sleep', args: ['30'], what: 'sleep' }, p, ac.signal);
    setTimeout(() => ac.abort(), 200);
    await expect(run).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('refuses a wrong identity with the decryption error', async () => {
    const other = parseIdentityFile(generateIdentity().text, 'other identity')[0]!;
    const p = await Plaintext.start(input({ identities: [other] })).catch((err: unknown) => err);
    const err = p instanceof Plaintext ? await runConsumer({ cmd: 'sh', args: ['-c', 'cat > /dev/null'], what: 'cat' }, p, new AbortController().signal).catch((e: unknown) => e) : p;
    expect(err).toMatchObject({ code: 'DECRYPT_NO_MATCH' });
  });

  it('runs on a worker started ahead, which is handed out once', async () => {
    const ahead = new WorkerStart();
    const p = await Plaintext.start(input({ worker: ahead }));
    expect(ahead.take()).toBeUndefined();
    const chunks: Buffer[] = [];
    for await (const c of p) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(plain)).toBe(true);
    await ahead.dispose();
  });

  it("takes over the worker that the launcher started for a restore, and none for other commands", async () => {
    const { startEarlyWorker } = (await import(new URL('../../bin/early-worker.js', import.meta.url).href)) as { startEarlyWorker: (argv: string[], cli: string) => Promise<void> };
    const slot = globalThis as unknown as Record<symbol, Worker | undefined>;
    const key = Symbol.for('lifeboat.restoreWorker');
    const sources = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
    for (const argv of [['backup', 'job'], ['restore', 'job', '--to', 'x', '--dry-run'], ['drill', '--help']]) {
      await startEarlyWorker(argv, sources);
      expect(slot[key], argv.join(' ')).toBeUndefined();
    }
    await startEarlyWorker(['restore', 'job', '--to', 'x'], sources);
    const early = slot[key];
    expect(early).toBeDefined();
    const ahead = new WorkerStart();
    expect(slot[key]).toBeUndefined();
    expect((ahead as unknown as { worker?: Worker }).worker?.threadId).toBe(early!.threadId);
    // It runs a restore like any other.
    const p = await Plaintext.start(input({ worker: ahead }));
    const chunks: Buffer[] = [];
    for await (const c of p) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(plain)).toBe(true);
    await ahead.dispose();
  });

  it('a worker started ahead and never used neither keeps the process alive nor outlives dispose()', async () => {
    const module = new URL('../../src/pipeline/restore-worker/plaintext.ts', import.meta.url).href;
    // One is left alone, the other (the same kind of worker) shows that they were running: the
    // process still ends by itself.
    const script = join(dir, 'ahead.mjs');
    const lines = [
      `const { WorkerStart } = await import(${JSON.stringify(module)});`,
      'const left = new WorkerStart();',
      'const probe = new WorkerStart();',
      "setTimeout(async () => { const w = probe.take(); console.log(w ? 'running' : 'gone'); await w?.terminate(); }, 1500);",
    ];
    await writeFile(script, lines.join('\n'));
    const { stdout } = await execFileP(process.execPath, [script], { timeout: 20_000 });
    expect(stdout.trim()).toBe('running');
    const ahead = new WorkerStart();
    await ahead.dispose();
    expect(ahead.take()).toBeUndefined();
  });
});
