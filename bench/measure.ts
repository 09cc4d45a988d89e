/**
 * Runs a shell command under GNU time and returns wall seconds, CPU seconds (user + system of the
 * command and everything it waited for) and the peak RSS of its largest process. The disk is
 * synced first, outside the timing: otherwise whichever side runs right after a step that wrote a
 * gigabyte pays for its writeback (the restore references swung between 2.1 and 4.2 s).
 */
import { spawn, spawnSync } from 'node:child_process';

export interface Measured {
  wall: number;
  cpu: number;
  peakRssBytes: number;
}

export function measure(command: string, env: NodeJS.ProcessEnv = process.env): Promise<Measured> {
  spawnSync('sync');
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', 'LIFEBOAT_TIME %e %U %S %M', 'bash', '-o', 'pipefail', '-c', command], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const m = /LIFEBOAT_TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(err);
      if (code !== 0 || !m) return reject(new Error(`benchmark command failed (${code}): ${command}\n${err.slice(-2000)}`));
      resolve({ wall: Number(m[1]), cpu: Number(m[2]) + Number(m[3]), peakRssBytes: Number(m[4]) * 1024 });
    });
  });
}
