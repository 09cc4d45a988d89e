// Memory is bounded by design: a 1 GiB snapshot to two sites must not grow the process by more
// than 200 MiB. Measured in a child process so that the test runner's own memory does not count.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { execFileP } from '../helpers/streams.ts';

describe('pipeline memory', () => {
  it('backs up a 1 GiB stream to two sites with peak RSS growth under 200 MiB', async () => {
    const { stdout } = await execFileP(process.execPath, ['--expose-gc', join(import.meta.dirname, 'memory-probe.ts'), String(1 << 30)], {
      maxBuffer: 1 << 20,
      timeout: 300_000,
    });
    const r = JSON.parse(stdout) as { before: number; peak: number; bytes: number; committed: number };
    expect(r.bytes).toBe(1 << 30);
    expect(r.committed).toBe(2);
    const growthMiB = (r.peak - r.before) / (1 << 20);
    console.info(`1 GiB backup to 2 fs sites: RSS ${(r.before / (1 << 20)).toFixed(0)} MiB before, ${(r.peak / (1 << 20)).toFixed(0)} MiB peak (+${growthMiB.toFixed(0)} MiB)`);
    expect(growthMiB).toBeLessThan(200);
  });
});
