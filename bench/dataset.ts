/**
 * Benchmark data, kept in the system's temporary folder once made:
 * - `mixed(size)`: a directory of text (compressible, like logs and source) and random binary
 *   (incompressible, like media and already-compressed files), generated from a fixed seed so
 *   that every run and every machine measures the same bytes. zstd -3 makes it ~1.35× smaller.
 * - `systemTree()`: the dataset the performance targets were set on (D1): a copy of this
 *   machine's /usr/share and /usr/lib/<multiarch>, programs, libraries and documentation that
 *   zstd -3 makes ~2.5–3× smaller, in tens of thousands of mostly small files. Its bytes differ
 *   from machine to machine; the table states its size and how well it compresses.
 */
import { execFileSync } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Dataset {
  readonly dir: string;
  /** For the table: "1 GiB mixed", "D1: 1.7 GB of /usr". */
  readonly label: string;
  /** Bytes of its tar stream, for the rate column. */
  readonly bytes: number;
}

const WORDS = 'the backup restore snapshot site drill recovery point time objective encrypted stream manifest payload archive database table row index commit lease prune verify heal metric alert runbook on-call error warning info debug request response latency bytes seconds'.split(' ');

/** A deterministic keystream: ChaCha20 over zeros with a fixed key. */
function keystream(seed: number): (n: number) => Buffer {
  const key = Buffer.alloc(32, seed & 0xff);
  const cipher = createCipheriv('chacha20', key, Buffer.alloc(16, 7));
  return (n) => cipher.update(Buffer.alloc(n));
}

function textBlock(rand: Buffer, size: number): Buffer {
  const parts: string[] = [];
  let len = 0;
  let i = 0;
  while (len < size) {
    const line = `${2026}-11-${String(1 + (rand[i % rand.length]! % 28)).padStart(2, '0')} ${WORDS[rand[(i + 1) % rand.length]! % WORDS.length]} ${WORDS[rand[(i + 2) % rand.length]! % WORDS.length]} id=${rand.readUInt32LE(i % (rand.length - 4))} ${WORDS[rand[(i + 3) % rand.length]! % WORDS.length]}\n`;
    parts.push(line);
    len += line.length;
    i += 4;
  }
  return Buffer.from(parts.join('')).subarray(0, size);
}

const sizeLabel = (n: number): string => (n >= 2 ** 30 ? `${n / 2 ** 30} GiB` : `${n / 2 ** 20} MiB`);

export async function mixed(totalBytes: number): Promise<Dataset> {
  return { dir: await generate(totalBytes), label: `${sizeLabel(totalBytes)} mixed`, bytes: totalBytes };
}

async function generate(totalBytes: number): Promise<string> {
  const dir = join(tmpdir(), `lifeboat-bench-data-${totalBytes}`);
  if (existsSync(join(dir, '.complete'))) return dir;
  await rm(dir, { recursive: true, force: true });
  const tmp = `${dir}.partial`;
  await rm(tmp, { recursive: true, force: true });
  const rand = keystream(1);
  let written = 0;
  let n = 0;
  while (written < totalBytes) {
    const r = rand(16);
    const kind = r[0]! % 10 < 4 ? 'text' : 'bin';
    // Sizes from 1 KiB to 8 MiB, most files small, as in real trees.
    const size = Math.min(totalBytes - written, 1024 << (r[1]! % 14));
    const folder = join(tmp, `d${r[2]! % 16}`, `e${r[3]! % 8}`);
    await mkdir(folder, { recursive: true });
    const body = kind === 'text' ? textBlock(rand(Math.min(size, 1 << 16)), size) : rand(size);
    await writeFile(join(folder, `${kind}-${n++}.${kind === 'text' ? 'log' : 'bin'}`), body);
    written += size;
  }
  await writeFile(join(tmp, '.complete'), `${n} files, ${written} bytes\n`);
  await rename(tmp, dir);
  return dir;
}

/** The folders of D1, those of them this machine has (Debian's multiarch library folder, else /usr/lib). */
function systemFolders(): string[] {
  const multiarch = ['usr/lib/x86_64-linux-gnu', 'usr/lib/aarch64-linux-gnu'].find((d) => existsSync(`/${d}`));
  return ['usr/share', multiarch ?? 'usr/lib'];
}

/** D1 (see the top of this file); copied with tar, so links and modes come as they are. */
export async function systemTree(): Promise<Dataset> {
  const dir = join(tmpdir(), 'lifeboat-bench-data-d1');
  const done = join(dir, '.complete');
  if (!existsSync(done)) {
    const tmp = `${dir}.partial`;
    await rm(dir, { recursive: true, force: true });
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp);
    execFileSync('sh', ['-c', `tar -C / -cf - ${systemFolders().join(' ')} | tar -x -C "${tmp}"`], { stdio: ['ignore', 'ignore', 'inherit'] });
    const bytes = Number(execFileSync('sh', ['-c', `tar -cf - -C "${tmp}" . | wc -c`]).toString().trim());
    await writeFile(join(tmp, '.complete'), `${bytes}\n`);
    await rename(tmp, dir);
  }
  const bytes = Number(readFileSync(done, 'utf8').trim());
  return { dir, label: `D1 (${(bytes / 1e9).toFixed(2)} GB of ${systemFolders().map((f) => `/${f}`).join(' + ')})`, bytes };
}
