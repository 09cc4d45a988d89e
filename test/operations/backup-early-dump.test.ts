// The backup starts its source's dump while it prepares the sites; when too few sites can be
// prepared, that dump is stopped before the backup reports the failure, and nothing is left running.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../../src/operations/backup.ts';
import { workspace, type Workspace } from '../helpers/fixture.ts';

let ws: Workspace;

beforeAll(async () => {
  ws = await workspace();
  await writeFile(join(ws.dir, 'not-a-dir'), 'x');
});
afterAll(async () => {
  await ws?.cleanup();
});

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('a backup whose sites cannot be prepared', () => {
  it('stops the dump it started beside them', async () => {
    const pidFile = join(ws.dir, 'dump.pid');
    // Writes its pid, then would produce output for a minute.
    const dump = `["sh", "-c", "echo $$ > ${pidFile}; exec sleep 60"]`;
    const ctx = await ws.context(`sites:\n  bad: { type: fs, path: ./not-a-dir/sub }\njobs:\n  cmd:\n    source: { type: command, dump: ${dump}, restore: ["cat"] }\n`);
    const started = Date.now();
    await expect(backup(ctx, 'cmd')).rejects.toThrow(/needs 1 site\(s\) but only 0 can be reached: site "bad"/);
    expect(Date.now() - started).toBeLessThan(30_000);
    // A child stopped before it wrote its pid never will; one left running writes it soon.
    let pid = 0;
    for (let waited = 0; !pid && waited < 3000; waited += 100) {
      pid = Number((await readFile(pidFile, 'utf8').catch(() => '0')).trim());
      if (!pid) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (pid) expect(running(pid)).toBe(false);
    ctx.close();
  });
});
