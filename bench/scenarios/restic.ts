/**
 * Lifeboat next to restic, the usual open-source choice, on the same directory: a first backup to
 * two local repositories, restic's two runs side by side (the faster of the ways to reach two
 * repositories; one after the other is slower still). Lifeboat stores to two fs sites. Target on
 * D1: ≤ 0.4× restic's time. Skipped when restic is not installed.
 */
import { execFileSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Dataset } from '../dataset.ts';
import { measure, type Measured } from '../measure.ts';
import { alternate, benchWorkspace, emptySite, lifeboatCmd, median, pairedRatios, warmTree, type Row } from './common.ts';

export function resticAvailable(): boolean {
  try {
    execFileSync('restic', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function resticScenario(dataset: Dataset, rounds: number, target?: number): Promise<Row> {
  const data = dataset.dir;
  const ws = await benchWorkspace(() => `sites:\n  a: { type: fs, path: ./a }\n  b: { type: fs, path: ./b }\njobs:\n  bench:\n    source: { type: files, paths: ["${data}"] }\n`);
  // restic's repository password (a benchmark-only value; restic needs one).
  const env = { ...process.env, RESTIC_PASSWORD: 'lifeboat-bench' };
  const repos = [join(ws.dir, 'restic-a'), join(ws.dir, 'restic-b')];
  try {
    const runs = { ours: [] as Measured[], reference: [] as Measured[] };
    for (let i = 0; i < rounds; i++) {
      await emptySite(join(ws.dir, 'a'));
      await emptySite(join(ws.dir, 'b'));
      for (const r of repos) {
        await rm(r, { recursive: true, force: true });
        execFileSync('restic', ['init', '-q', '-r', r], { env, stdio: 'ignore' });
      }
      const restic = `restic backup -q -r "${repos[0]}" "${data}" & a=$!; restic backup -q -r "${repos[1]}" "${data}" & b=$!; wait $a && wait $b && sync -f "${ws.dir}"`;
      await alternate(
        i,
        () => (warmTree(data), measure(`${lifeboatCmd} backup bench -c "${ws.config}"`)),
        () => (warmTree(data), measure(restic, env)),
        runs,
      );
    }
    return {
      scenario: `files backup, ${dataset.label}, 2 sites, next to restic`,
      lifeboat: median(runs.ours),
      reference: median(runs.reference),
      paired: pairedRatios(runs.ours, runs.reference),
      referenceName: `restic ${execFileSync('restic', ['version']).toString().split(' ')[1]} backup to 2 local repositories at once`,
      bytes: dataset.bytes,
      target: { ratio: target },
    };
  } finally {
    await rm(ws.dir, { recursive: true, force: true });
  }
}
