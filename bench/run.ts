/**
 * `npm run bench`: Lifeboat next to the stock tools on the same data in the same run, reported as
 * ratios (never as absolute timings in tests). Scenarios:
 *
 * - files backup: a generated mixed directory to two fs sites, against
 *   `tar -cf - | zstd -3 -T1 | age -r R | tee A > B` followed by `sync A B` (Lifeboat fsyncs what
 *   it stores, so the reference does too). Target: wall time ≤ 1.5× the reference, peak RSS ≤ 200 MiB.
 *
 * `--quick` uses 128 MiB of data and one round instead of 1 GiB and three (median reported).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataset } from './dataset.ts';
import { measure, type Measured } from './measure.ts';

const quick = process.argv.includes('--quick');
const SIZE = quick ? 128 << 20 : 1 << 30;
const ROUNDS = quick ? 1 : 3;
const root = join(import.meta.dirname, '..');

function need(cmd: string, pkg: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
  } catch {
    console.error(`bench: needs ${cmd} (Debian package ${pkg})`);
    process.exit(2);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function mib(b: number): string {
  return `${(b / (1 << 20)).toFixed(0)} MiB`;
}

interface Row {
  scenario: string;
  lifeboat: Measured;
  reference: Measured;
  referenceName: string;
  target: { ratio: number; rssBytes?: number };
}

async function filesBackup(): Promise<Row> {
  const data = await dataset(SIZE);
  const ws = await mkdtemp(join(tmpdir(), 'lifeboat-bench-'));
  try {
    execFileSync('age-keygen', ['-o', join(ws, 'id.txt')], { stdio: 'ignore' });
    const recipient = execFileSync('age-keygen', ['-y', join(ws, 'id.txt')]).toString().trim();
    const cfg = join(ws, 'lifeboat.yaml');
    await writeFile(
      cfg,
      `encryption:\n  recipients: [${recipient}]\nsites:\n  a: { type: fs, path: ./a }\n  b: { type: fs, path: ./b }\njobs:\n  bench:\n    source: { type: files, paths: ["${data}"] }\n`,
    );
    // Warm the page cache so that neither side pays for the first read from disk.
    execFileSync('sh', ['-c', `tar -cf - -C "${data}" . > /dev/null`]);
    const ours: Measured[] = [];
    const theirs: Measured[] = [];
    const reference = `tar -cf - -C "${data}" . | zstd -3 -T1 -q | age -r ${recipient} | tee "${ws}/ref-a" > "${ws}/ref-b" && sync "${ws}/ref-a" "${ws}/ref-b"`;
    for (let i = 0; i < ROUNDS; i++) {
      await rm(join(ws, 'a'), { recursive: true, force: true });
      await rm(join(ws, 'b'), { recursive: true, force: true });
      ours.push(await measure(`"${process.execPath}" "${root}/bin/lifeboat" backup bench -c "${cfg}"`));
      theirs.push(await measure(reference));
      await rm(join(ws, 'ref-a'), { force: true });
      await rm(join(ws, 'ref-b'), { force: true });
    }
    const pick = (ms: Measured[]): Measured => ({ wall: median(ms.map((m) => m.wall)), cpu: median(ms.map((m) => m.cpu)), peakRssBytes: Math.max(...ms.map((m) => m.peakRssBytes)) });
    return {
      scenario: `files backup, ${mib(SIZE)} mixed, 2 fs sites`,
      lifeboat: pick(ours),
      reference: pick(theirs),
      referenceName: 'tar \\| zstd -3 -T1 \\| age \\| tee A > B; sync',
      target: { ratio: 1.5, rssBytes: 200 << 20 },
    };
  } finally {
    await rm(ws, { recursive: true, force: true });
  }
}

need('tar', 'tar');
need('zstd', 'zstd');
need('age', 'age');
need('/usr/bin/time', 'time');
const rows = [await filesBackup()];
const lines = [
  `Lifeboat benchmark — ${quick ? 'quick' : 'full'} run, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`,
  '',
  '| scenario | Lifeboat | reference | ratio | Lifeboat CPU s | reference CPU s | Lifeboat peak RSS | target | met |',
  '|---|---|---|---|---|---|---|---|---|',
];
let allMet = true;
for (const r of rows) {
  const ratio = r.lifeboat.wall / r.reference.wall;
  const met = ratio <= r.target.ratio && (r.target.rssBytes === undefined || r.lifeboat.peakRssBytes <= r.target.rssBytes);
  allMet &&= met;
  const rate = `${(SIZE / (1 << 20) / r.lifeboat.wall).toFixed(0)} MiB/s`;
  lines.push(
    `| ${r.scenario} | ${r.lifeboat.wall.toFixed(2)} s (${rate}) | ${r.reference.wall.toFixed(2)} s (${r.referenceName}) | ${ratio.toFixed(2)}× | ${r.lifeboat.cpu.toFixed(1)} | ${r.reference.cpu.toFixed(1)} | ${mib(r.lifeboat.peakRssBytes)} | ≤ ${r.target.ratio}×${r.target.rssBytes ? `, ≤ ${mib(r.target.rssBytes)}` : ''} | ${met ? 'yes' : 'NO'} |`,
  );
}
console.log(lines.join('\n'));
process.exitCode = allMet ? 0 : 1;
