/**
 * The Site contract (src/sites/site.ts), as one suite that every implementation must pass.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLifeboatError } from '../../src/errors.ts';
import type { Site } from '../../src/sites/site.ts';

export interface SiteHarness {
  site: Site;
  /** Objects (or leftovers) that the implementation holds outside the visible keys: temp files, multipart uploads. */
  leftovers(): Promise<number>;
  cleanup(): Promise<void>;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** A stream of `size` deterministic pseudo-random bytes, produced lazily in 1 MiB pieces. */
export function bigStream(size: number, seed = 'x'): { stream: Readable; sha256: () => string } {
  const hash = createHash('sha256');
  let left = size;
  let counter = 0;
  const stream = new Readable({
    read() {
      if (left === 0) return void this.push(null);
      const n = Math.min(left, 1 << 20);
      const block = createHash('sha512').update(`${seed}${counter++}`).digest();
      const piece = Buffer.alloc(n);
      for (let off = 0; off < n; off += block.length) block.copy(piece, off);
      hash.update(piece);
      left -= n;
      this.push(piece);
    },
  });
  return { stream, sha256: () => hash.digest('hex') };
}

function failingStream(afterBytes: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= afterBytes) return void this.destroy(new Error('source failed mid-stream'));
      sent += 1 << 20;
      this.push(randomBytes(1 << 20));
    },
  });
}

export function siteContract(kind: string, make: () => Promise<SiteHarness>): void {
  describe(`Site contract: ${kind}`, () => {
    let h: SiteHarness;
    beforeAll(async () => {
      h = await make();
    });
    afterAll(() => h?.cleanup());

    it('stores a stream and reads it back, with stat and list agreeing', async () => {
      const body = randomBytes(300_000);
      const put = await h.site.put('a/b/one.bin', Readable.from([body]));
      expect(put.bytes).toBe(body.length);
      expect((await buffer(await h.site.get('a/b/one.bin'))).equals(body)).toBe(true);
      expect(await h.site.stat('a/b/one.bin')).toMatchObject({ key: 'a/b/one.bin', size: body.length });
      const listed = await collect(h.site.list('a/'));
      expect(listed.map((o) => o.key)).toEqual(['a/b/one.bin']);
    });

    it('stores an empty object', async () => {
      await h.site.put('empty', Readable.from([Buffer.alloc(0)]));
      expect(await h.site.stat('empty')).toMatchObject({ size: 0 });
      expect((await buffer(await h.site.get('empty'))).length).toBe(0);
    });

    it('streams a large object (several multipart parts) intact', async () => {
      const src = bigStream(23 * 1024 * 1024 + 17);
      await h.site.put('large/obj', src.stream);
      const back = createHash('sha256');
      for await (const chunk of await h.site.get('large/obj')) back.update(chunk as Buffer);
      expect(back.digest('hex')).toBe(src.sha256());
    });

    it('lists by prefix only', async () => {
      await h.site.put('p/x/1', Readable.from([Buffer.from('1')]));
      await h.site.put('p/x/2', Readable.from([Buffer.from('2')]));
      await h.site.put('p/y/3', Readable.from([Buffer.from('3')]));
      await h.site.put('px', Readable.from([Buffer.from('4')]));
      expect((await collect(h.site.list('p/x/'))).map((o) => o.key).sort()).toEqual(['p/x/1', 'p/x/2']);
      expect((await collect(h.site.list('p/'))).length).toBe(3);
      expect((await collect(h.site.list('nothing-here/'))).length).toBe(0);
    });

    it('reports a missing key as NOT_FOUND on get and undefined on stat', async () => {
      const err = await h.site.get('missing/key').catch((e: unknown) => e);
      expect(isLifeboatError(err, 'NOT_FOUND')).toBe(true);
      expect(String(err)).toContain(`site "${h.site.name}"`);
      expect(await h.site.stat('missing/key')).toBeUndefined();
    });

    it('reads small objects whole with getBytes, refusing one larger than the limit', async () => {
      await h.site.put('small/m.json', Readable.from([Buffer.from('{"a":1}')]));
      expect((await h.site.getBytes('small/m.json', 7)).toString()).toBe('{"a":1}');
      const big = await h.site.getBytes('small/m.json', 6).catch((e: unknown) => e);
      expect(isLifeboatError(big, 'INTEGRITY')).toBe(true);
      expect(isLifeboatError(await h.site.getBytes('small/none', 10).catch((e: unknown) => e), 'NOT_FOUND')).toBe(true);
    });

    it('deletes idempotently', async () => {
      await h.site.put('del/me', Readable.from([Buffer.from('x')]));
      await h.site.delete('del/me');
      await h.site.delete('del/me');
      expect(await h.site.stat('del/me')).toBeUndefined();
    });

    it('refuses to replace an object with ifNoneMatch', async () => {
      await h.site.put('once', Readable.from([Buffer.from('first')]), { ifNoneMatch: true });
      const err = await h.site.put('once', Readable.from([Buffer.from('second')]), { ifNoneMatch: true }).catch((e: unknown) => e);
      expect(isLifeboatError(err, 'CONFLICT')).toBe(true);
      expect((await buffer(await h.site.get('once'))).toString()).toBe('first');
    });

    it('leaves nothing behind when the source fails mid-stream', async () => {
      await expect(h.site.put('failed/obj', failingStream(12 * 1024 * 1024))).rejects.toThrow();
      expect(await h.site.stat('failed/obj')).toBeUndefined();
      expect(await h.leftovers()).toBe(0);
    });

    it('leaves nothing behind when aborted', async () => {
      const ac = new AbortController();
      const src = bigStream(64 * 1024 * 1024);
      setTimeout(() => ac.abort(), 50);
      const err = await h.site.put('aborted/obj', src.stream, { signal: ac.signal }).catch((e: unknown) => e);
      expect(isLifeboatError(err)).toBe(true);
      expect(await h.site.stat('aborted/obj')).toBeUndefined();
      expect(await h.leftovers()).toBe(0);
    });

    it('refuses unsafe keys', async () => {
      for (const key of ['../escape', '/abs', 'a//b', 'a/./b', '']) {
        await expect(h.site.put(key, Readable.from([Buffer.from('x')]))).rejects.toThrow(/unsafe object key/);
      }
    });
  });
}
