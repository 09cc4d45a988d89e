/**
 * Files: a directory (bench/dataset.ts: D1, or the generated mixed one).
 * - backup to N fs sites next to `tar -cf - | zstd -3 -T1 | age -r R | tee A … > N` followed by
 *   `sync` (Lifeboat fsyncs what it stores, so the reference does too). Target ≤ 0.9×, ≤ 200 MiB RSS.
 * - restore from an fs site to a new folder next to `age -d | zstd -d | tar -x` of a local copy of
 *   the same payload. Target ≤ 1.0×.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Dataset } from '../dataset.ts';
import { measure, type Measured } from '../measure.ts';
import { alternate, benchWorkspace, emptySite, latestPayload, lifeboatCmd, median, pairedRatios, warm, warmTree, type Row } from './common.ts';

export interface FilesOptions {
  readonly data: Dataset;
  readonly rounds: number;
  readonly sites: number;
  /** Also measure a restore. */
  readonly restore: boolean;
}

export async function filesScenarios(o: FilesOptions): Promise<Row[]> {
  const data = o.data.dir;
  const names = Array.from({ length: o.sites }, (_, i) => `s${i + 1}`);
  const ws = await benchWorkspace(() => `sites:\n${names.map((n) => `  ${n}: { type: fs, path: ./${n} }\n`).join('')}jobs:\n  bench:\n    source: { type: files, paths: ["${data}"] }\n`);
  const refs = names.map((n) => `"${ws.dir}/ref-${n}"`);
  try {
    const backups = { ours: [] as Measured[], reference: [] as Measured[] };
    const restores = { ours: [] as Measured[], reference: [] as Measured[] };
    const reference = `tar -cf - -C "${data}" . | zstd -3 -T1 -q | age -r ${ws.recipient} | tee ${refs.slice(1).join(' ')} > ${refs[0]} && sync ${refs.join(' ')}`;
    for (let i = 0; i < o.rounds; i++) {
      for (const n of names) await emptySite(join(ws.dir, n));
      // Each side starts with the tree in the page cache.
      await alternate(
        i,
        () => (warmTree(data), measure(`${lifeboatCmd} backup bench -c "${ws.config}"`)),
        () => (warmTree(data), measure(reference)),
        backups,
      );
      for (const r of names) await rm(join(ws.dir, `ref-${r}`), { force: true });
      if (!o.restore) continue;
      // The reference reads a local copy of the very payload Lifeboat stored.
      const payload = await latestPayload(join(ws.dir, names[0]!), 'bench');
      warm(payload);
      const ours = join(ws.dir, 'restored-ours');
      const theirs = join(ws.dir, 'restored-ref');
      await alternate(
        i,
        () => measure(`${lifeboatCmd} restore bench -c "${ws.config}" --site ${names[0]} --to "${ours}" && sync -f "${ws.dir}"`),
        () => measure(`mkdir "${theirs}" && age -d -i "${ws.identity}" "${payload}" | zstd -d -q | tar -x -C "${theirs}" && sync -f "${ws.dir}"`),
        restores,
      );
      await rm(ours, { recursive: true, force: true });
      await rm(theirs, { recursive: true, force: true });
    }
    const rows: Row[] = [
      {
        scenario: `files backup, ${o.data.label}, ${o.sites} fs sites`,
        lifeboat: median(backups.ours),
        reference: median(backups.reference),
        paired: pairedRatios(backups.ours, backups.reference),
        referenceName: `tar \\| zstd -3 -T1 \\| age \\| tee (${o.sites} files); sync`,
        bytes: o.data.bytes,
        target: { ratio: 0.9, rssBytes: 200 << 20 },
      },
    ];
    if (o.restore) {
      rows.push({
        scenario: `files restore, ${o.data.label}, from an fs site`,
        lifeboat: median(restores.ours),
        reference: median(restores.reference),
        paired: pairedRatios(restores.ours, restores.reference),
        referenceName: 'age -d \\| zstd -d \\| tar -x of a local payload; sync',
        bytes: o.data.bytes,
        target: { ratio: 1.0, rssBytes: 200 << 20 },
      });
    }
    return rows;
  } finally {
    await rm(ws.dir, { recursive: true, force: true });
  }
}
