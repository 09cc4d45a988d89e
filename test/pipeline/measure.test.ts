import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { Measure } from '../../src/pipeline/measure.ts';

const data = [Buffer.from('first '), Buffer.from('second '), Buffer.from('third')];
const whole = Buffer.concat(data);
const sha = createHash('sha256').update(whole).digest('hex');

async function drain(m: Measure): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(data), m, async (src: AsyncIterable<Buffer>) => {
    for await (const c of src) out.push(c);
  });
  return Buffer.concat(out);
}

describe('Measure', () => {
  it('counts and hashes what passes and hands it on unchanged', async () => {
    const m = new Measure();
    expect(await drain(m)).toEqual(whole);
    expect(m.bytes).toBe(whole.length);
    expect(m.sha256()).toBe(sha);
  });

  it('fails the stream when the size or the digest differs from the expectation', async () => {
    await expect(drain(new Measure({ expect: { bytes: whole.length + 1, sha256: sha, what: 'the payload' } }))).rejects.toThrow(/the payload: \d+ bytes instead of \d+/);
    await expect(drain(new Measure({ expect: { bytes: whole.length, sha256: '0'.repeat(64), what: 'the payload' } }))).rejects.toThrow(/SHA-256 differs/);
  });

  it('without hashing, checks the size only', async () => {
    const ok = new Measure({ hash: false, expect: { bytes: whole.length, sha256: '0'.repeat(64), what: 'the payload' } });
    expect(await drain(ok)).toEqual(whole);
    expect(() => ok.sha256()).toThrow(/without hashing/);
    await expect(drain(new Measure({ hash: false, expect: { bytes: 3, sha256: sha, what: 'the payload' } }))).rejects.toThrow(/bytes instead of 3/);
  });

  it('with holdBack, a stream that fails its check never delivers its last chunk', async () => {
    const seen: Buffer[] = [];
    const m = new Measure({ holdBack: true, expect: { bytes: whole.length, sha256: '0'.repeat(64), what: 'the payload' } });
    m.on('data', (c: Buffer) => seen.push(c));
    await expect(pipeline(Readable.from(data), m)).rejects.toThrow(/SHA-256 differs/);
    expect(Buffer.concat(seen).toString()).toBe('first second ');
  });
});
