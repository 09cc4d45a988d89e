import { execFile, spawn } from 'node:child_process';
import { Readable, type Transform } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { promisify } from 'node:util';

export const execFileP = promisify(execFile);

/** Runs a transform over a buffer, fed in pieces of `piece` bytes. */
export async function through(t: Transform, input: Buffer, piece = 100_000): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let off = 0; off < input.length; off += piece) parts.push(input.subarray(off, off + piece));
  return buffer(Readable.from(parts.length ? parts : [Buffer.alloc(0)]).pipe(t));
}

/** Runs a command with `input` on stdin and returns stdout; rejects with stderr on failure. */
export function run(cmd: string, args: string[], input?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`${cmd} exited ${code}: ${Buffer.concat(err).toString()}`));
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? Buffer.alloc(0));
  });
}
