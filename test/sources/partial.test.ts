// A killed restore's partial target is removed by the next restore of the same target, but only
// when this host's process that wrote it is gone.
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pidNamespace } from '../../src/pid.ts';
import { partialPath, sweepPartials } from '../../src/sources/partial.ts';

/** This host and pid namespace, as partials name them. */
const here = `${hostname()}-${pidNamespace() ?? '0'}`;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifeboat-partial-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The pid of a process that has exited. */
function deadPid(): number {
  return Number(spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim());
}

describe('partial restore targets', () => {
  it('names a partial after the target, this host, its pid namespace and this process', () => {
    expect(partialPath(join(dir, 'restored'))).toMatch(new RegExp(`/\\.restored\\.lifeboat-partial-${here}-${process.pid}-[0-9a-f]{8}$`));
  });

  it("removes a dead process's partial of the same target, and nothing else", async () => {
    const target = join(dir, 'restored');
    const dead = `.restored.lifeboat-partial-${here}-${deadPid()}-0badc0de`;
    const keep = [
      `.restored.lifeboat-partial-${here}-${process.pid}-00c0ffee`, // a restore still running
      `.restored.lifeboat-partial-another-host-${pidNamespace() ?? '0'}-${deadPid()}-0badc0de`, // another host's (shared filesystem)
      `.restored.lifeboat-partial-${hostname()}-1-${deadPid()}-0badc0de`, // another pid namespace's (a container)
      `.restored.lifeboat-partial-${hostname()}-${deadPid()}-0badc0de`, // an earlier version's, without the namespace
      `.restored.lifeboat-partial-1234abcd`, // an older format: whose is unknown
      `.other.lifeboat-partial-${here}-${deadPid()}-0badc0de`, // another target's
      'restored-notes',
    ];
    await mkdir(join(dir, dead, 'sub'), { recursive: true });
    await writeFile(join(dir, dead, 'sub', 'half.bin'), 'x');
    for (const name of keep) await mkdir(join(dir, name));
    expect(await sweepPartials(target)).toEqual([join(dir, dead)]);
    expect((await readdir(dir)).sort()).toEqual(keep.sort());
    expect(await sweepPartials(join(dir, 'no-such-folder', 'restored'))).toEqual([]);
  });
});
