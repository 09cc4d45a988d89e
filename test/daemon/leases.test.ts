// Several daemons on one config, against two Ceph S3 sites: each scheduled run happens once, and
// the job of a daemon that died is taken over when its lease expires.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ceph.ts';
import { workspace, type Workspace } from '../helpers/fixture.ts';
import { createBucket, dropBucket, listKeys, s3Env } from '../helpers/s3.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'lifeboat');
const env = s3Env();
let ws: Workspace;
const buckets: string[] = [];
const children: ChildProcess[] = [];

interface Running {
  child: ChildProcess;
  lines: () => Record<string, unknown>[];
}

/**
 * Starts a daemon; `elsewhere` runs it as if on another host (a UTS namespace of its own with
 * another host name, which needs root): a lease's holder on another host is not known dead
 * until its lease expires, while one of this host that is gone is taken over at once.
 */
async function start(name: string, job: string, elsewhere = false): Promise<Running> {
  const sites = env.endpoints
    .slice(0, 2)
    .map((e, i) => `  s${i}: { type: s3, endpoint: "${e}", bucket: ${buckets[i]}, prefix: lifeboat, forcePathStyle: true, accessKeyId: "\${env:LB_LEASE_KEY}", secretAccessKey: "\${env:LB_LEASE_SECRET}" }\n`)
    .join('');
  const file = join(ws.dir, `${name}.yaml`);
  await writeFile(file, `encryption:\n  recipients: [${ws.recipient}]\nsites:\n${sites}api: { listen: "127.0.0.1:${await freePort()}" }\ndaemon: { leaseTtl: 4s, retries: 0 }\njobs:\n${job}`);
  const argv = [process.execPath, bin, 'daemon', '-c', file];
  const [cmd, ...args] = elsewhere ? ['unshare', '--uts', '--', 'sh', '-c', 'hostname lifeboat-elsewhere && exec "$@"', 'sh', ...argv] : argv;
  const child = spawn(cmd!, args, { cwd: ws.dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LB_LEASE_KEY: env.accessKeyId, LB_LEASE_SECRET: env.secretAccessKey } });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  children.push(child);
  return { child, lines: () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

async function stop(r: Running): Promise<void> {
  if (r.child.exitCode !== null || r.child.signalCode !== null) return;
  r.child.kill('SIGTERM');
  await once(r.child, 'exit');
}

const manifests = async (bucket: number, job: string): Promise<string[]> =>
  (await listKeys(env.endpoints[bucket]!, buckets[bucket]!)).filter((k) => k.startsWith(`lifeboat/jobs/${job}/snapshots/`) && k.endsWith('/manifest.json'));

beforeAll(async () => {
  ws = await workspace();
  for (const e of env.endpoints.slice(0, 2)) buckets.push(await createBucket(e));
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await Promise.all(buckets.map((b, i) => dropBucket(env.endpoints[i]!, b)));
  await ws?.cleanup();
});

describe('several daemons, one config', () => {
  it('runs each scheduled backup once, whichever daemon takes it', async () => {
    const job = '  shared:\n    source: { type: command, dump: [sh, -c, "sleep 0.3; echo shared"] }\n    schedule: "*/2 * * * * *"\n';
    const [a, b] = [await start('a', job), await start('b', job)];
    await new Promise((r) => setTimeout(r, 11_000));
    await Promise.all([stop(a), stop(b)]);
    const keys = await manifests(0, 'shared');
    const seconds = keys.map((k) => /snapshots\/(\d{8}T\d{6}Z)-/.exec(k)![1]!);
    expect(keys.length).toBeGreaterThanOrEqual(4);
    // No second ever produced two snapshots: one run per slot, wherever it ran.
    expect(new Set(seconds).size).toBe(seconds.length);
    expect(await manifests(1, 'shared')).toHaveLength(keys.length);
    const committedBy = (r: Running): number => r.lines().filter((l) => l.msg === 'backup committed').length;
    expect(committedBy(a) + committedBy(b)).toBe(keys.length);
    const skipped = [...a.lines(), ...b.lines()].filter((l) => l.msg === 'backup skipped');
    expect(skipped.length).toBeGreaterThan(0);
  }, 40_000);

  it.runIf(process.getuid?.() === 0)("takes over the job of a daemon on another host that died once its lease expires", async () => {
    // The first run hangs (its daemon is then killed); every later run is quick.
    const job = "  takeover:\n    source: { type: command, dump: [sh, -c, 'if [ -f started ]; then echo quick; else touch started; sleep 20; fi'] }\n    schedule: \"*/2 * * * * *\"\n";
    const a = await start('hang', job, true);
    const deadline = Date.now() + 15_000;
    while (!a.lines().some((l) => l.msg === 'backup queued') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 1500));
    a.child.kill('SIGKILL');
    const killedAt = Date.now();
    const b = await start('heir', job);
    let committed: Record<string, unknown> | undefined;
    while (!committed && Date.now() < killedAt + 25_000) {
      committed = b.lines().find((l) => l.msg === 'backup committed');
      await new Promise((r) => setTimeout(r, 200));
    }
    await stop(b);
    expect(committed).toBeDefined();
    // Until the lease ran out, the heir saw the dead daemon's lease and skipped.
    expect(b.lines().some((l) => l.msg === 'backup skipped' && String(l.reason).includes('another Lifeboat process'))).toBe(true);
    expect((committed!.time as number) - killedAt).toBeGreaterThan(2000);
    expect(await manifests(0, 'takeover')).toHaveLength(b.lines().filter((l) => l.msg === 'backup committed').length);
  }, 60_000);
});
