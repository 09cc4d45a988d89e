/**
 * Runs a shell command under GNU time and returns wall seconds, CPU seconds (user + system of the
 * command and everything it waited for) and the peak RSS of its largest process. The disk is
 * synced first, outside the timing: otherwise whichever side runs right after a step that wrote a
 * gigabyte pays for its writeback (the restore references swung between 2.1 and 4.2 s).
 *
 * A failure names the exit status of each stage of the pipeline that failed. One whose stage died
 * of SIGPIPE (status 141) is run once more, with a warning: the reference `age -d | zstd -d |
 * tar -x` did so once in a full run (bench/README.md, "A sixteenth machine") and took the run's
 * other 25 minutes with it.
 */
import { spawn, spawnSync } from 'node:child_process';

export interface Measured {
  wall: number;
  cpu: number;
  peakRssBytes: number;
}

export async function measure(command: string, env: NodeJS.ProcessEnv = process.env): Promise<Measured> {
  const first = await once(command, env);
  if (!('failed' in first)) return first;
  if (!first.stages.includes(141)) throw new Error(first.failed);
  console.error(`bench: warning: a stage died of SIGPIPE (statuses ${first.stages.join(' ')}); running it once more: ${command}`);
  const again = await once(command, env);
  if ('failed' in again) throw new Error(again.failed);
  return again;
}

/**
 * `command` under pipefail, and the statuses of the last pipeline it ran (the failing one, in an
 * `&&` list), for the error: PIPESTATUS read at once, its last non-zero status the exit status.
 */
function once(command: string, env: NodeJS.ProcessEnv): Promise<Measured | { failed: string; stages: number[] }> {
  spawnSync('sync');
  const script = `${command}\np=("\${PIPESTATUS[@]}"); s=0; for x in "\${p[@]}"; do [ "$x" -ne 0 ] && s=$x; done; echo "LIFEBOAT_STAGES \${p[*]}" >&2; exit $s`;
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', 'LIFEBOAT_TIME %e %U %S %M', 'bash', '-o', 'pipefail', '-c', script], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const m = /LIFEBOAT_TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(err);
      if (code === 0 && m) return resolve({ wall: Number(m[1]), cpu: Number(m[2]) + Number(m[3]), peakRssBytes: Number(m[4]) * 1024 });
      const stages = (/LIFEBOAT_STAGES ([\d ]*)/.exec(err)?.[1] ?? '').split(' ').filter(Boolean).map(Number);
      resolve({ failed: `benchmark command failed (${code}; statuses of its stages: ${stages.join(' ') || 'unknown'}): ${command}\n${err.slice(-2000)}`, stages });
    });
  });
}
