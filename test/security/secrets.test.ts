// Secrets stay secret: with distinctive values for every secret a config can hold (S3 keys, database
// passwords, webhook headers and ping URLs, API tokens), run backup, restore, drill, verify and the
// daemon with its API — then scan every output, log line, metric, API response, manifest, drill
// report and error message: none of them may contain any of the secrets.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ceph.ts';
import { workspace, type Workspace } from '../helpers/fixture.ts';
import { createBucket, dropBucket, s3Env } from '../helpers/s3.ts';
import { execFileP } from '../helpers/streams.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'lifeboat');
const s3 = s3Env();
const SECRETS = {
  LB_SEC_DB: 'pg-pass-Qx71Lm',
  LB_SEC_SCRATCH: 'scratch-pass-Vb20Kp',
  LB_SEC_HOOK: 'hook-token-Zr55Ty',
  LB_SEC_PING: 'ping-uuid-Hj38Nc',
  LB_SEC_TOKEN: 'api-token-Wd93Fs',
  // Typed by a user into a restore target's URL (refused, but never repeated).
  LB_SEC_TYPED: 'typed-pass-Kc64Rw',
};
const PG = process.env.LIFEBOAT_TEST_PGUSER ?? 'postgres';
const SRC = `lifeboat_secsrc_${process.pid}`;
const psql = (sql: string): Promise<unknown> => execFileP('psql', ['-X', '-q', '-h', '127.0.0.1', '-U', PG, '-d', 'postgres', '-c', sql]);
let ws: Workspace;
let bucket: string;
const seen: string[] = [];
const env = { ...process.env, ...SECRETS, LB_SEC_S3_KEY: s3.accessKeyId, LB_SEC_S3_SECRET: s3.secretAccessKey };

async function cli(...args: string[]): Promise<void> {
  const r = await execFileP(process.execPath, [bin, ...args, '-c', join(ws.dir, 'lifeboat.yaml')], { env }).catch((e: { stdout: string; stderr: string }) => e);
  seen.push(r.stdout, r.stderr);
}

async function filesUnder(dir: string): Promise<string[]> {
  const names = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile() && e.name.endsWith('.json'));
  return Promise.all(names.map((e) => readFile(join(e.parentPath, e.name), 'utf8')));
}

beforeAll(async () => {
  ws = await workspace();
  await psql(`CREATE DATABASE ${SRC}`);
  await execFileP('psql', ['-X', '-q', '-h', '127.0.0.1', '-U', PG, '-d', SRC, '-c', 'CREATE TABLE t (x int); INSERT INTO t VALUES (1)']);
  bucket = await createBucket(s3.endpoints[0]!);
  const port = await freePort();
  const yaml = `sites:
  local: { type: fs, path: ./site-a }
  remote: { type: s3, endpoint: "${s3.endpoints[0]}", bucket: ${bucket}, prefix: lb, forcePathStyle: true, accessKeyId: "\${env:LB_SEC_S3_KEY}", secretAccessKey: "\${env:LB_SEC_S3_SECRET}" }
api:
  listen: "127.0.0.1:${port}"
  tokens:
    - { name: oncall, role: operator, sha256: ${createHash('sha256').update(SECRETS.LB_SEC_TOKEN).digest('hex')} }
jobs:
  db:
    source: { type: postgres, url: "postgres://${PG}@127.0.0.1:5432/${SRC}", password: "\${env:LB_SEC_DB}" }
    notify:
      - { type: ping, url: "http://127.0.0.1:9/ping/\${env:LB_SEC_PING}" }
      - { type: webhook, url: "http://127.0.0.1:9/hook", headers: { Authorization: "Bearer \${env:LB_SEC_HOOK}" } }
    drill:
      target: { type: postgres, url: "postgres://${PG}@127.0.0.1:5432/postgres", password: "\${env:LB_SEC_SCRATCH}" }
      checks:
        - { command: [sh, -c, "echo checked"] }
`;
  await writeFile(join(ws.dir, 'lifeboat.yaml'), `encryption:\n  recipients: [${ws.recipient}]\n  identityFile: ./identity.txt\n${yaml}`);
  (env as Record<string, string>).LB_SEC_PORT = String(port);
});
afterAll(async () => {
  await psql(`DROP DATABASE IF EXISTS ${SRC} WITH (FORCE)`).catch(() => {});
  await dropBucket(s3.endpoints[0]!, bucket).catch(() => {});
  await ws?.cleanup();
});

describe('secrets', () => {
  it('never appear in any output, log, metric, API answer, manifest or drill report', async () => {
    await cli('backup', 'db', '--json');
    await cli('snapshots', 'db', '--json');
    await cli('restore', 'db', '--to', `postgres://${PG}@127.0.0.1:5432/lifeboat_secret_restore_${process.pid}`, '--dry-run', '--json');
    await cli('restore', 'db', '--to', 'postgres://nobody@127.0.0.1:1/x', '--json'); // fails: its error is scanned too
    const typed = `postgres://${PG}:${SECRETS.LB_SEC_TYPED}@127.0.0.1:5432/x?sslpassword=${SECRETS.LB_SEC_TYPED}`;
    await cli('restore', 'db', '--to', typed, '--dry-run');
    await cli('restore', 'db', '--to', typed, '--dry-run', '--json');
    await cli('restore', 'db', '--to', `https://u:${SECRETS.LB_SEC_TYPED}@h.example/x`);
    // The source database itself, with a typed password: refused without --into-source.
    await cli('restore', 'db', '--to', `postgres://${PG}:${SECRETS.LB_SEC_TYPED}@127.0.0.1:5432/${SRC}`);
    await cli('restore', 'db', '--to', `postgres://${PG}:${SECRETS.LB_SEC_TYPED}@127.0.0.1:5432/${SRC}`, '--dry-run', '--json');
    await cli('drill', 'db', '--json');
    await cli('verify', 'db', '--json');
    await cli('config', 'check');
    // The daemon: logs, metrics, API answers (including a failing restore), notifications that fail.
    const port = Number((env as Record<string, string>).LB_SEC_PORT);
    const child = spawn(process.execPath, [bin, 'daemon', '-c', join(ws.dir, 'lifeboat.yaml')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (b: Buffer) => seen.push(b.toString()));
    child.stderr!.on('data', (b: Buffer) => seen.push(b.toString()));
    try {
      const auth = { authorization: `Bearer ${SECRETS.LB_SEC_TOKEN}`, 'content-type': 'application/json' };
      for (let i = 0; (await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0)) !== 200; i++) {
        if (i > 100) throw new Error(`the daemon did not start: ${seen.slice(-3).join('')}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const call = async (method: string, path: string, body?: string): Promise<Record<string, unknown>> => {
        const text = await (await fetch(`http://127.0.0.1:${port}${path}`, { method, headers: auth, ...(body ? { body } : {}) })).text();
        seen.push(text);
        return JSON.parse(text) as Record<string, unknown>;
      };
      // A typed password is refused at once (400): its answer is scanned too.
      const typed = await call('POST', '/api/v1/jobs/db/restores', JSON.stringify({ target: `postgres://nobody:${SECRETS.LB_SEC_TYPED}@127.0.0.1:1/x` }));
      expect(typed.error).toMatchObject({ code: 'BAD_REQUEST' });
      const ops = [
        await call('POST', '/api/v1/jobs/db/backups'),
        await call('POST', '/api/v1/jobs/db/restores', JSON.stringify({ target: 'postgres://nobody@127.0.0.1:1/x' })),
        await call('POST', '/api/v1/jobs/db/drills'),
      ].map((r) => (r.operation as { id: string }).id);
      for (const id of ops) {
        for (let i = 0; i < 150; i++) {
          const op = (await call('GET', `/api/v1/operations/${id}`)).operation as { state: string };
          if (op.state === 'succeeded' || op.state === 'failed') break;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      await call('GET', '/api/v1/jobs');
      await call('GET', '/api/v1/jobs/db/drills');
      await call('GET', '/api/v1/operations');
      seen.push(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
      await new Promise((r) => setTimeout(r, 2500)); // failing notifications get logged
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    seen.push(...(await filesUnder(join(ws.dir, 'site-a'))));
    const all = seen.join('\n');
    // The scan covered real material: manifests, reports, the drill's outcome, the failed restore.
    expect(all).toContain('"snapshotId"');
    expect(all).toContain('"drillId"');
    expect(all).toContain('checked');
    expect(all).toMatch(/nobody@127\.0\.0\.1:1/);
    for (const [name, value] of Object.entries({ ...SECRETS, LB_SEC_S3_SECRET: s3.secretAccessKey })) {
      expect(all.includes(value), `${name} leaked`).toBe(false);
    }
  }, 120_000);
});
