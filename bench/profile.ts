/**
 * `npm run bench:profile`: one files backup of the 1 GiB benchmark dataset to two fs sites under
 * `node --cpu-prof` (with `--restore`: a backup, then its restore from one site under the profiler),
 * summarised as self time per function for each JavaScript thread (the main thread, and a
 * restore's worker thread; zstd frames run on libuv's threads and show up as the process's CPU
 * time beyond these). Writes the summary to stdout and the raw profiles, zstd-compressed, to
 * bench/profiles/ (open them in Chrome DevTools or speedscope after `zstd -d`).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mixed } from './dataset.ts';
import { measure } from './measure.ts';
import { benchWorkspace, lifeboatCmd, root } from './scenarios/common.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const size = process.argv.includes('--quick') ? 128 << 20 : 1 << 30;
const restore = process.argv.includes('--restore');
const what = restore ? 'restore' : 'backup';
const data = (await mixed(size)).dir;
const ws = await benchWorkspace(() => `sites:\n  a: { type: fs, path: ./a }\n  b: { type: fs, path: ./b }\njobs:\n  bench:\n    source: { type: files, paths: ["${data}"] }\n`);
const profDir = join(ws.dir, 'prof');
try {
  execFileSync('sh', ['-c', `tar -cf - -C "${data}" . | cat > /dev/null`]);
  // The sources, not the bundle: the profiles then name the files the time is spent in. Node
  // skips bin/lifeboat's first line when it is named: its settings are given here.
  const profiled = `MALLOC_ARENA_MAX=1 GLIBC_TUNABLES=glibc.malloc.hugetlb=1 LIFEBOAT_SOURCES=1 "${process.execPath}" --initial-old-space-size=64 --cpu-prof --cpu-prof-dir="${profDir}" "${root}/bin/lifeboat"`;
  if (restore) execFileSync('sh', ['-c', `${lifeboatCmd} backup bench -c "${ws.config}"`]);
  const m = await measure(restore ? `${profiled} restore bench -c "${ws.config}" --site a --to "${ws.dir}/restored" && sync -f "${ws.dir}"` : `${profiled} backup bench -c "${ws.config}"`);
  // One profile per thread: CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile (0 is the main thread;
  // a restore's data path runs in a worker thread).
  const files = (await readdir(profDir)).filter((n) => n.endsWith('.cpuprofile')).sort((a, b) => threadOf(a) - threadOf(b));
  const lines = [`files ${what}, ${size >> 20} MiB mixed, ${restore ? 'from an fs site' : '2 fs sites'}: wall ${m.wall.toFixed(2)} s, process CPU ${m.cpu.toFixed(2)} s (tar included)`];
  const out = join(root, 'bench', 'profiles');
  await mkdir(out, { recursive: true });
  for (const file of files) {
    const thread = threadOf(file);
    const p = JSON.parse(await readFile(join(profDir, file), 'utf8')) as Profile;
    lines.push('', ...summary(p, thread === 0 ? 'main thread' : `worker thread ${thread}`));
    // Script addresses relative to the repository: the stored profile names no folder of this machine.
    for (const n of p.nodes) n.callFrame.url = n.callFrame.url.replace(`file://${root}/`, '');
    const clean = join(profDir, `clean-${thread}.json`);
    await writeFile(clean, JSON.stringify(p));
    const name = `files-${what}-${size >> 20}MiB${thread === 0 ? '' : `.thread${thread}`}.cpuprofile.zst`;
    execFileSync('zstd', ['-19', '-q', '-f', clean, '-o', join(out, name)]);
  }
  console.log(lines.join('\n'));
} finally {
  await rm(ws.dir, { recursive: true, force: true });
}

function threadOf(file: string): number {
  return Number(file.split('.').at(-3));
}

/** Self time per function, largest first. */
function summary(p: Profile, thread: string): string[] {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  p.samples.forEach((id, i) => {
    const n = byId.get(id)!;
    const where = n.callFrame.url ? `${n.callFrame.url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${n.callFrame.lineNumber + 1}` : '';
    const key = `${n.callFrame.functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + (p.timeDeltas[i] ?? 0));
  });
  const total = (p.endTime - p.startTime) / 1e3;
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25);
  return [
    `${thread}: profiled ${(total / 1e3).toFixed(2)} s`,
    '',
    `| self ms | share of the ${thread} | function |`,
    '|---|---|---|',
    ...rows.map(([k, us]) => `| ${(us / 1e3).toFixed(0)} | ${((us / 1e3 / total) * 100).toFixed(1)}% | \`${k}\` |`),
  ];
}
