/**
 * A real S3 for tests: a single-node Ceph cluster (memstore, no auth between daemons) with one or
 * more RADOS gateways, each an independent S3 endpoint that a test can kill and restart. Everything
 * lives in one temporary directory; stop() kills the daemons and removes it.
 *
 * Packages: ceph-mon, ceph-osd, radosgw (Debian). Installed on demand when running as root.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export const ACCESS_KEY = 'LIFEBOATTESTKEY';
export const SECRET_KEY = 'lifeboat-test-secret-key-0123456789';

export interface Gateway {
  name: string;
  port: number;
  endpoint: string;
  process?: ChildProcess;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

async function ensurePackages(): Promise<void> {
  const needed = { 'ceph-mon': 'ceph-mon', 'ceph-osd': 'ceph-osd', radosgw: 'radosgw', 'radosgw-admin': 'radosgw' };
  const missing: string[] = [];
  for (const [bin, pkg] of Object.entries(needed)) {
    try {
      await exec('sh', ['-c', `command -v ${bin}`]);
    } catch {
      if (!missing.includes(pkg)) missing.push(pkg);
    }
  }
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`the S3 tests need the Debian packages ${missing.join(' ')} (apt-get install ${missing.join(' ')}), or LIFEBOAT_TEST_S3_ENDPOINTS`);
  }
  await exec('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

async function waitHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`the Ceph gateway at ${url} did not answer within ${timeoutMs / 1000}s`);
}

export class CephCluster {
  readonly dir: string;
  readonly conf: string;
  readonly gateways = new Map<string, Gateway>();
  private readonly daemons: ChildProcess[] = [];
  private readonly owner: boolean;

  private constructor(dir: string, owner = true) {
    this.owner = owner;
    this.dir = dir;
    this.conf = join(dir, 'ceph.conf');
  }

  static async start(gateways: number): Promise<CephCluster> {
    await ensurePackages();
    // On tmpfs when there is one: the monitor fsyncs its store, and a disk busy writing back a
    // large test's data can stall it for a minute.
    const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
    const dir = await mkdtemp(join(base, 'lifeboat-ceph-'));
    const c = new CephCluster(dir);
    try {
      await c.boot();
      for (let i = 0; i < gateways; i++) await c.addGateway();
      await exec('radosgw-admin', ['-c', c.conf, 'user', 'create', '--uid', 'lifeboat', '--display-name', 'lifeboat', '--access-key', ACCESS_KEY, '--secret-key', SECRET_KEY]);
      return c;
    } catch (err) {
      await c.stop();
      throw err;
    }
  }

  /** Joins a cluster that another process started, to add gateways of this process's own. */
  static attach(dir: string): CephCluster {
    return new CephCluster(dir, false);
  }

  private spawnDaemon(cmd: string, args: string[]): ChildProcess {
    const child = spawn(cmd, ['-f', '-c', this.conf, ...args], { stdio: 'ignore' });
    child.on('error', () => {});
    this.daemons.push(child);
    return child;
  }

  private async boot(): Promise<void> {
    const fsid = randomUUID();
    const monPort = await freePort();
    for (const d of ['run', 'log', 'mon', 'osd/osd.0', 'rgw']) await mkdir(join(this.dir, d), { recursive: true });
    const conf = `[global]
fsid = ${fsid}
mon host = v1:127.0.0.1:${monPort}
auth cluster required = none
auth service required = none
auth client required = none
osd objectstore = memstore
memstore device bytes = 2147483648
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
osd pool default pg num = 8
osd pool default pgp num = 8
mon max pg per osd = 1000
osd max object name len = 460
osd max object namespace len = 64
run dir = ${this.dir}/run
admin socket = ${this.dir}/run/$name.asok
log file = ${this.dir}/log/$name.log
mon data = ${this.dir}/mon/$name
osd data = ${this.dir}/osd/$name
rgw data = ${this.dir}/rgw/$name
`;
    await writeFile(this.conf, conf);
    await exec('ceph-mon', ['-c', this.conf, '--mkfs', '-i', 'a', '--fsid', fsid]);
    this.spawnDaemon('ceph-mon', ['-i', 'a']);
    // One OSD identity for every attempt: a retried OSD registers as the same osd.0 instead of
    // being refused by the monitor ("wrong fsid").
    const osdUuid = randomUUID();
    await exec('ceph', ['-c', this.conf, '--connect-timeout', '30', 'osd', 'create', osdUuid]);
    // Gateways block until their pools are usable, so wait for the OSD to be up first; an OSD that
    // has not come up in time is started again, on a fresh store (memstore keeps nothing of a
    // killed OSD). The first start waits longest: on a machine that has just installed Ceph, one
    // CI run saw two OSD starts of 30 s each stop after "log_to_monitors".
    for (let attempt = 1; ; attempt++) {
      await rm(join(this.dir, 'osd/osd.0'), { recursive: true, force: true });
      await mkdir(join(this.dir, 'osd/osd.0'), { recursive: true });
      await exec('ceph-osd', ['-c', this.conf, '-i', '0', '--mkfs', '--osd-uuid', osdUuid]);
      const osd = this.spawnDaemon('ceph-osd', ['-i', '0']);
      if (await this.waitOsdUp(attempt === 1 ? 45_000 : 30_000)) return;
      if (osd.exitCode === null && osd.signalCode === null) {
        const exited = new Promise((resolve) => osd.once('exit', resolve));
        osd.kill('SIGKILL');
        await exited;
      }
      if (attempt === 3) {
        const tail = async (n: string): Promise<string> => (await this.logTail(n)).split('\n').slice(-15).join('\n');
        throw new Error(`the Ceph OSD did not come up in three starts; its log ends with:\n${await tail('osd.0')}\nmon.a:\n${await tail('mon.a')}`);
      }
    }
  }

  private async waitOsdUp(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const { stdout } = await exec('ceph', ['-c', this.conf, '--connect-timeout', '10', 'osd', 'stat', '-f', 'json']);
        if ((JSON.parse(stdout) as { num_up_osds?: number }).num_up_osds === 1) return true;
      } catch {
        // the monitor may still be starting
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    return false;
  }

  /** Starts one more gateway (an independent S3 endpoint on the same cluster). */
  async addGateway(): Promise<Gateway> {
    const name = `rgw-${randomUUID().slice(0, 8)}`;
    const gw: Gateway = { name, port: await freePort(), endpoint: '' };
    gw.endpoint = `http://127.0.0.1:${gw.port}`;
    this.gateways.set(name, gw);
    await this.startGateway(name);
    return gw;
  }

  async startGateway(name: string): Promise<void> {
    const gw = this.gateways.get(name);
    if (!gw) throw new Error(`no gateway ${name}`);
    await mkdir(join(this.dir, 'rgw', `client.${name}`), { recursive: true });
    // A gateway that hangs in its first start (seen rarely while pools are being created) is
    // killed and started once more.
    for (let attempt = 1; ; attempt++) {
      gw.process = this.spawnDaemon('radosgw', ['-n', `client.${name}`, '--rgw-frontends', `beast endpoint=127.0.0.1:${gw.port}`]);
      try {
        await waitHttp(gw.endpoint, 40_000);
        return;
      } catch (err) {
        gw.process.kill('SIGKILL');
        if (attempt === 2) {
          const tail = async (n: string): Promise<string> => (await this.logTail(n)).split('\n').slice(-12).join('\n');
          throw new Error(`${(err as Error).message}; its log ends with:\n${await tail(`client.${name}`)}\nosd.0:\n${await tail('osd.0')}\nmon.a:\n${await tail('mon.a')}`);
        }
      }
    }
  }

  /** Kills a gateway at once (SIGKILL), as a crash or a network loss would. */
  killGateway(name: string): void {
    this.gateways.get(name)?.process?.kill('SIGKILL');
  }

  async logTail(name: string): Promise<string> {
    return readFile(join(this.dir, 'log', `${name}.log`), 'utf8').catch(() => '');
  }

  async stop(): Promise<void> {
    for (const d of this.daemons) d.kill('SIGKILL');
    if (this.owner && !process.env.LIFEBOAT_KEEP_CEPH) await rm(this.dir, { recursive: true, force: true });
  }
}
