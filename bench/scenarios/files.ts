/**
 * Files backup: a generated mixed directory to two fs sites, against
 * `tar -cf - | zstd -3 -T1 | age -r R | tee A > B` followed by `sync A B` (Lifeboat fsyncs what it
 * stores, so the reference does too). Target: ≤ 1.5× the reference's wall time, ≤ 200 MiB RSS.
 */
import { execFileSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { dataset } from '../dataset.ts';
import { measure, type Measured } from '../measure.ts';
import { alternate, benchWorkspace, lifeboatCmd, median, type Row } from './common.ts';

export async function filesBackup(size: number, rounds: number): Promise<Row> {
  const data = await dataset(size);
  const ws = await benchWorkspace(() => `sites:\n  a: { type: fs, path: ./a }\n  b: { type: fs, path: ./b }\njobs:\n  bench:\n    source: { type: files, paths: ["${data}"] }\n`);
  try {
    // Warm the page cache so that neither side pays for the first read from disk.
    execFileSync('sh', ['-c', `tar -cf - -C "${data}" . > /dev/null`]);
    const runs = { ours: [] as Measured[], reference: [] as Measured[] };
    const reference = `tar -cf - -C "${data}" . | zstd -3 -T1 -q | age -r ${ws.recipient} | tee "${ws.dir}/ref-a" > "${ws.dir}/ref-b" && sync "${ws.dir}/ref-a" "${ws.dir}/ref-b"`;
    for (let i = 0; i < rounds; i++) {
      await rm(join(ws.dir, 'a'), { recursive: true, force: true });
      await rm(join(ws.dir, 'b'), { recursive: true, force: true });
      await alternate(i, () => measure(`${lifeboatCmd} backup bench -c "${ws.config}"`), () => measure(reference), runs);
      await rm(join(ws.dir, 'ref-a'), { force: true });
      await rm(join(ws.dir, 'ref-b'), { force: true });
    }
    return {
      scenario: `files backup, ${size >> 20} MiB mixed, 2 fs sites`,
      lifeboat: median(runs.ours),
      reference: median(runs.reference),
      referenceName: 'tar \\| zstd -3 -T1 \\| age \\| tee A > B; sync',
      bytes: size,
      target: { ratio: 1.5, rssBytes: 200 << 20 },
    };
  } finally {
    await rm(ws.dir, { recursive: true, force: true });
  }
}
