/**
 * Deterministic benchmark data: a mixed directory of text (compressible, like logs and source) and
 * random binary (incompressible, like media and already-compressed files), generated from a fixed
 * seed so that every run and every machine measures the same bytes. Generated once per size and
 * kept in the system's temporary folder.
 */
import { createCipheriv } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

export async function dataset(totalBytes: number): Promise<string> {
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
