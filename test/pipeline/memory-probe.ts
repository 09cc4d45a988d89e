// Run as a child process by memory.test.ts: backs up a synthetic stream of SIZE incompressible
// bytes to two fs sites through the real pipeline and prints RSS before and at peak, in bytes.
import { randomFillSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { backupPipeline } from '../../src/pipeline/backup.ts';
import { newSnapshotId } from '../../src/catalog/snapshot-id.ts';
import { generateIdentity, parseRecipient } from '../../src/crypto/keys.ts';
import { FsSite } from '../../src/sites/fs/fs-site.ts';
import type { Source } from '../../src/sources/source.ts';

const size = Number(process.argv[2] ?? 1 << 30);
const dir = await mkdtemp(join(tmpdir(), 'lifeboat-mem-'));

function synthetic(total: number): Source {
  return {
    kind: 'synthetic',
    ext: 'bin',
    targetKind: 'nothing',
    dump() {
      let left = total;
      const stream = new Readable({
        highWaterMark: 1 << 20,
        read() {
          if (left === 0) return void this.push(null);
          const n = Math.min(left, 1 << 20);
          left -= n;
          this.push(randomFillSync(Buffer.allocUnsafe(n)));
        },
      });
      return { stream, done: new Promise((resolve) => stream.once('end', () => resolve({ bytes: total }))) };
    },
    async checkTarget() {
      return [];
    },
    overlapsSource: async () => undefined,
    async restore() {
      return {};
    },
  };
}

const sites = [new FsSite('a', join(dir, 'a')), new FsSite('b', join(dir, 'b'))];
const recipients = [parseRecipient(generateIdentity().recipient)];
// Warm up module loading and JIT with a small run, then measure.
await backupPipeline({ job: 'warm', snapshotId: newSnapshotId(), source: synthetic(8 << 20), sites, minSites: 2, recipients, compressionLevel: 3, signal: new AbortController().signal });
global.gc?.();
const before = process.memoryUsage().rss;
let peak = before;
const timer = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 20);
const r = await backupPipeline({ job: 'mem', snapshotId: newSnapshotId(), source: synthetic(size), sites, minSites: 2, recipients, compressionLevel: 3, signal: new AbortController().signal });
clearInterval(timer);
peak = Math.max(peak, process.memoryUsage().rss, process.resourceUsage().maxRSS * 1024);
await rm(dir, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify({ before, peak, bytes: r.manifest.payload.plaintext.bytes, committed: r.sites.filter((s) => s.committed).length })}\n`);
