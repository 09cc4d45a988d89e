/**
 * A throwaway PostgreSQL cluster for drills that have no scratch server: `initdb` into a private
 * temporary folder, `pg_ctl start` on a free loopback port with its socket in that folder, and
 * `pg_ctl stop -m immediate` plus removal afterwards. PostgreSQL refuses to run as root, so when
 * Lifeboat is root the cluster runs as the `postgres` user if there is one, else as `nobody`.
 * Durability is switched off (fsync, full_page_writes): the cluster lives for one drill.
 */
import { execFile } from 'node:child_process';
import { chown, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DbConnection } from '../config/model.ts';
import { LifeboatError } from '../errors.ts';

export const EPHEMERAL_PREFIX = 'lifeboat-drill-pg-';

export interface EphemeralPostgres {
  readonly connection: DbConnection;
  readonly binDir: string;
  stop(): Promise<void>;
}

/** The newest installed server binaries (Debian: /usr/lib/postgresql/<major>/bin). */
export async function findServerBinDir(): Promise<string> {
  const base = '/usr/lib/postgresql';
  const majors = (await readdir(base).catch(() => [] as string[])).filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(b) - Number(a));
  if (majors.length === 0) {
    throw new LifeboatError('USAGE', `an ephemeral PostgreSQL drill target needs the server binaries (initdb, pg_ctl): none under ${base}; install postgresql, or set drill.target.binDir`);
  }
  return join(base, majors[0]!, 'bin');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function uidOf(user: string): Promise<{ uid: number; gid: number } | undefined> {
  return new Promise((resolve) =>
    execFile('id', ['-u', user], (e1, uid) =>
      e1 ? resolve(undefined) : execFile('id', ['-g', user], (e2, gid) => resolve(e2 ? undefined : { uid: Number(uid), gid: Number(gid) })),
    ),
  );
}

/** Who runs the cluster: this process, or an unprivileged user when this process is root. */
async function runAs(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const who = (await uidOf('postgres')) ?? (await uidOf('nobody'));
  if (!who) throw new LifeboatError('USAGE', 'an ephemeral PostgreSQL drill runs as an unprivileged user, but neither "postgres" nor "nobody" exists');
  return who;
}

function run(cmd: string, args: string[], as: { uid: number; gid: number } | undefined, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 120_000, ...(as ?? {}), env: { ...process.env, LC_ALL: 'C.UTF-8' } }, (err, _out, stderr) => {
      if (!err) return resolve();
      reject(new LifeboatError('RESTORE_FAILED', `${what} failed: ${String(stderr).trim().split('\n').slice(-3).join(' ') || err.message}`));
    });
  });
}

export async function startEphemeralPostgres(binDir?: string): Promise<EphemeralPostgres> {
  const bin = binDir ?? (await findServerBinDir());
  const as = await runAs();
  const dir = await mkdtemp(join(tmpdir(), EPHEMERAL_PREFIX));
  await writeFile(join(dir, 'owner.pid'), `${process.pid}\n`);
  const data = join(dir, 'data');
  if (as) await chown(dir, as.uid, as.gid);
  const stop = async (): Promise<void> => {
    await run(join(bin, 'pg_ctl'), ['stop', '-D', data, '-m', 'immediate', '-w'], as, 'pg_ctl stop').catch(() => {});
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await run(join(bin, 'initdb'), ['-D', data, '-U', 'lifeboat', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'], as, 'initdb of an ephemeral cluster');
    const port = await freePort();
    const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off`;
    await run(join(bin, 'pg_ctl'), ['start', '-D', data, '-w', '-t', '60', '-l', join(dir, 'server.log'), '-o', opts], as, 'pg_ctl start of an ephemeral cluster');
    return { connection: { scheme: 'postgres', host: '127.0.0.1', port, user: 'lifeboat', database: 'postgres' }, binDir: bin, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
