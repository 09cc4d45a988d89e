// A dump child's stdout over a Unix socket: read as a plain stream, or straight into a consumer's
// buffers with backpressure; a child's failure still fails the dump with its status and stderr.
import { createHash } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { spawnProducer } from '../../src/sources/child.ts';
import { ChildOutput } from '../../src/sources/child-output.ts';

const script = 'i=0; while [ $i -lt 2000 ]; do printf "line %05d of the dump, padded to be a little longer\\n" $i; i=$((i+1)); done';
const expected = Array.from({ length: 2000 }, (_, i) => `line ${String(i).padStart(5, '0')} of the dump, padded to be a little longer\n`).join('');

describe('child output', () => {
  it('reads as a plain stream', async () => {
    const p = spawnProducer({ cmd: 'sh', args: ['-c', script], what: 'sh (test)' }, new AbortController().signal);
    const [out] = await Promise.all([buffer(p.stream), p.done]);
    expect(out.toString()).toBe(expected);
  });

  it('reads straight into the buffers a sink hands out, pausing when it says so', async () => {
    const p = spawnProducer({ cmd: 'sh', args: ['-c', `${script}; head -c 3000000 /dev/zero`], what: 'sh (test)' }, new AbortController().signal);
    const target = Buffer.alloc(4096);
    const hash = createHash('sha256');
    let total = 0;
    let pauses = 0;
    const ended = new Promise<void>((resolve, reject) => {
      const reader = p.stream.readInto({
        next: () => target,
        got: (n) => {
          hash.update(target.subarray(0, n));
          total += n;
          // Every tenth read, say "stop" and come back later.
          if (total % 10 === 0 || pauses % 7 === 3) {
            pauses++;
            setTimeout(() => reader.resume(), 1);
            return false;
          }
          return true;
        },
        end: resolve,
        error: reject,
      });
    });
    await Promise.all([ended, p.done]);
    expect(total).toBe(expected.length + 3_000_000);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(expected).update(Buffer.alloc(3_000_000)).digest('hex'));
  });

  it('copies the first bytes for a look at a header, while they go on to the reader unchanged', async () => {
    const out = new ChildOutput();
    const head = out.head(1000);
    const p = spawnProducer({ cmd: 'sh', args: ['-c', script], what: 'sh (test)' }, new AbortController().signal, undefined, out);
    const target = Buffer.alloc(333);
    const parts: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      const got = (n: number): boolean => {
        parts.push(Buffer.from(target.subarray(0, n)));
        return true;
      };
      out.readInto({ next: () => target, got, end: resolve, error: reject });
    });
    await p.done;
    expect((await head).toString()).toBe(expected.slice(0, 1000));
    expect(Buffer.concat(parts).toString()).toBe(expected);
  });

  it('gives a shorter head when the output ends sooner, also to a plain reader', async () => {
    const out = new ChildOutput();
    const head = out.head(4096);
    const p = spawnProducer({ cmd: 'sh', args: ['-c', 'printf short'], what: 'sh (test)' }, new AbortController().signal, undefined, out);
    const [all] = await Promise.all([buffer(out), p.done]);
    expect(all.toString()).toBe('short');
    expect((await head).toString()).toBe('short');
    expect(() => out.head(10)).toThrow(/before any read, and once/);
  });

  it('gives a direct reader that comes after the child started every byte, in order', async () => {
    // A dump started early (while the sites are prepared) has its socket before the reader: the
    // first read lands in the output's own buffer and is copied into the sink's, here in pieces
    // smaller than that read.
    const p = spawnProducer({ cmd: 'sh', args: ['-c', script], what: 'sh (test)' }, new AbortController().signal);
    await p.spawned;
    await new Promise((resolve) => setTimeout(resolve, 200));
    const target = Buffer.alloc(64);
    const parts: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      const got = (n: number): boolean => {
        parts.push(Buffer.from(target.subarray(0, n)));
        return true;
      };
      p.stream.readInto({ next: () => target, got, end: resolve, error: reject });
    });
    await p.done;
    expect(Buffer.concat(parts).toString()).toBe(expected);
  });

  it('refuses a direct reader once the output is being read another way', async () => {
    const p = spawnProducer({ cmd: 'sh', args: ['-c', script], what: 'sh (test)' }, new AbortController().signal);
    const all = buffer(p.stream);
    expect(() => p.stream.readInto({ next: () => Buffer.alloc(64), got: () => true, end: () => {}, error: () => {} })).toThrow(/must come before any other read/);
    expect((await all).toString()).toBe(expected);
    await p.done;
  });

  it('a child that fails after writing fails the dump with its status and stderr', async () => {
    const p = spawnProducer({ cmd: 'sh', args: ['-c', 'echo partial; echo "disk on fire" >&2; exit 3'], what: 'sh (failing test)' }, new AbortController().signal);
    const out = buffer(p.stream).catch((e: Error) => e);
    await expect(p.done).rejects.toThrow(/sh \(failing test\) exited with status 3: disk on fire/);
    await out;
  });

  it('a command that is not installed fails the dump and ends the stream', async () => {
    const p = spawnProducer({ cmd: 'lifeboat-no-such-command', args: [], what: 'nothing' }, new AbortController().signal);
    await expect(p.done).rejects.toThrow(/lifeboat-no-such-command is not installed/);
    await buffer(p.stream).catch(() => undefined);
  });

  it('an abort kills the child and its children', async () => {
    const ac = new AbortController();
    const p = spawnProducer({ cmd: 'sh', args: ['-c', 'sleep 30 & cat /dev/zero'], what: 'sh (endless)' }, ac.signal);
    let seen = 0;
    p.stream.on('data', (b: Buffer) => {
      seen += b.length;
      if (seen > 1_000_000) ac.abort();
    });
    p.stream.on('error', () => {});
    const started = Date.now();
    await expect(p.done).rejects.toThrow(/aborted/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
