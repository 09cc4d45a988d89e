// The on-call HTTP API on a running daemon: bearer tokens and roles, backups and restores as
// operations, and 4xx (never 5xx) for what a client gets wrong.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ceph.ts';
import { workspace, type Workspace } from '../helpers/fixture.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'lifeboat');
const VIEWER = 'viewer-token-ab12';
const OPERATOR = 'operator-token-cd34';
const sha = (t: string): string => createHash('sha256').update(t).digest('hex');
let ws: Workspace;
let port: number;
let child: ChildProcess;
const logs: string[] = [];

async function call(method: string, path: string, token?: string, body?: string, type = 'application/json'): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = type;
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers, ...(body !== undefined ? { body } : {}), signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { text };
  }
  return { status: res.status, body: parsed };
}

async function waitOperation(id: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await call('GET', `/api/v1/operations/${id}`, VIEWER);
    const op = r.body.operation as Record<string, unknown>;
    if (op.state === 'succeeded' || op.state === 'failed') return op;
    if (Date.now() > deadline) throw new Error(`operation ${id} did not finish`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  ws = await workspace();
  port = await freePort();
  await mkdir(join(ws.dir, 'data'));
  await writeFile(join(ws.dir, 'data', 'a.txt'), 'alpha\n');
  const cfg = `encryption:\n  recipients: [${ws.recipient}]\n  identityFile: ./identity.txt\nsites:\n  a: { type: fs, path: ./site-a }\napi:\n  listen: "127.0.0.1:${port}"\n  tokens:\n    - { name: dash, role: viewer, sha256: ${sha(VIEWER)} }\n    - { name: oncall, role: operator, sha256: ${sha(OPERATOR)} }\njobs:\n  docs:\n    source: { type: files, paths: [./data] }\n    schedule: "0 0 1 1 *"\n    objectives: { rpo: 1d, rto: 1h }\n    drill:\n      schedule: "0 0 1 1 *"\n      target: { type: directory }\n      checks:\n        - { file: a.txt, minSize: 6 }\n`;
  await writeFile(join(ws.dir, 'api.yaml'), cfg);
  child = spawn(process.execPath, [bin, 'daemon', '-c', 'api.yaml'], { cwd: ws.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (b: Buffer) => logs.push(b.toString()));
  child.stderr!.on('data', (b: Buffer) => logs.push(b.toString()));
  const deadline = Date.now() + 30_000;
  while ((await call('GET', '/readyz').catch(() => ({ status: 0 }))).status !== 200) {
    if (Date.now() > deadline) throw new Error(`daemon did not become ready: ${logs.join('')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  // The job has no snapshot yet, so the daemon catches up at once; let that run finish first, so
  // that the API's own backup is not coalesced into it.
  while (!logs.join('').includes('backup committed')) {
    if (Date.now() > deadline) throw new Error(`the catch-up backup did not finish: ${logs.join('')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 300));
});
afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  await ws?.cleanup();
});

describe('HTTP API v1', () => {
  it('needs a valid token (401) of the right role (403)', async () => {
    expect((await call('GET', '/api/v1/jobs')).status).toBe(401);
    expect((await call('GET', '/api/v1/jobs', 'not-a-token')).status).toBe(401);
    expect((await call('POST', '/api/v1/jobs/docs/backups', VIEWER)).status).toBe(403);
    const jobs = await call('GET', '/api/v1/jobs', VIEWER);
    expect(jobs.status).toBe(200);
    expect(jobs.body.jobs).toEqual([expect.objectContaining({ name: 'docs', source: 'files', schedule: '0 0 1 1 *', nextRun: expect.any(String), objectives: { rpoSeconds: 86400, rtoSeconds: 3600 }, drill: expect.objectContaining({ schedule: '0 0 1 1 *', nextRun: expect.any(String) }) })]);
    expect((await call('GET', '/metrics')).status).toBe(200);
  });

  it('starts a backup as an operation an operator can follow to the end', async () => {
    const r = await call('POST', '/api/v1/jobs/docs/backups', OPERATOR);
    expect(r.status).toBe(202);
    const op = await waitOperation((r.body.operation as { id: string }).id);
    expect(op).toMatchObject({ kind: 'backup', job: 'docs', state: 'succeeded', reason: 'API request by oncall', result: { committed: ['a'] } });
    // Asked at once: the job's recovery point is the new snapshot as soon as the backup is done.
    const jobs = (await call('GET', '/api/v1/jobs', VIEWER)).body.jobs as { name: string; recoveryPoint: string }[];
    const snaps = await call('GET', '/api/v1/jobs/docs/snapshots', VIEWER);
    const newest = (snaps.body.snapshots as { id: string; createdAt: string }[])[0]!;
    expect(newest.id).toBe((op.result as { snapshotId: string }).snapshotId);
    expect(jobs.find((j) => j.name === 'docs')!.recoveryPoint).toBe(newest.createdAt);
  });

  it('restores a snapshot to a target and reports the result', async () => {
    const target = join(ws.dir, 'restored');
    const r = await call('POST', '/api/v1/jobs/docs/restores', OPERATOR, JSON.stringify({ target }));
    expect(r.status).toBe(202);
    const op = await waitOperation((r.body.operation as { id: string }).id);
    expect(op).toMatchObject({ kind: 'restore', state: 'succeeded', result: { site: 'a' } });
    expect(await readFile(join(target, 'a.txt'), 'utf8')).toBe('alpha\n');
    const again = await waitOperation(((await call('POST', '/api/v1/jobs/docs/restores', OPERATOR, JSON.stringify({ target }))).body.operation as { id: string }).id);
    expect(again).toMatchObject({ state: 'failed', error: expect.stringMatching(/is not empty/) });
  });

  it('refuses a target that a restore must not write at once, with 400 and the reason, queuing nothing', async () => {
    const before = ((await call('GET', '/api/v1/operations', VIEWER)).body.operations as unknown[]).length;
    const cases: [unknown, RegExp][] = [
      [{ target: join(ws.dir, 'data') }, /^target: .*data is the source folder .*data of job docs: restoring there overwrites the live data/],
      [{ target: join(ws.dir, 'site-a', 'x') }, /^target: .*x is inside the folder of site "a"/],
      [{ target: join(ws.dir, 'elsewhere'), site: 'zz' }, /^site: zz is not a site of job docs$/],
    ];
    for (const [body, message] of cases) {
      const r = await call('POST', '/api/v1/jobs/docs/restores', OPERATOR, JSON.stringify(body));
      expect(r.status).toBe(400);
      expect(r.body.error).toEqual({ code: 'BAD_REQUEST', message: expect.stringMatching(message) });
    }
    expect(((await call('GET', '/api/v1/operations', VIEWER)).body.operations as unknown[]).length).toBe(before);
  });

  it.each([
    ['{}', 'target: required'],
    ['{"target": ""}', 'target: must not be empty'],
    ['{"target": 5}', 'target: Invalid input: expected string, received number'],
    ['{"target": "/x", "hack": 1, "more": 2}', 'body: unknown keys "hack", "more"'],
  ] as const)('names what is wrong with a restore request %s', async (body, message) => {
    const r = await call('POST', '/api/v1/jobs/docs/restores', OPERATOR, body);
    expect(r.status).toBe(400);
    expect(r.body.error).toEqual({ code: 'BAD_REQUEST', message });
  });

  it.each([
    ['an unknown job', 'POST', '/api/v1/jobs/nope/backups', '', 404],
    ['a restore without a target', 'POST', '/api/v1/jobs/docs/restores', '{}', 400],
    ['a body that is not JSON', 'POST', '/api/v1/jobs/docs/restores', '{"target": ', 400],
    ['an unknown field', 'POST', '/api/v1/jobs/docs/restores', '{"target": "/x", "hack": 1}', 400],
    ['a huge body', 'POST', '/api/v1/jobs/docs/restores', JSON.stringify({ target: 'x'.repeat(200_000) }), 413],
    ['an unknown operation', 'GET', '/api/v1/operations/00000000-0000-0000-0000-000000000000', undefined, 404],
    ['an unknown endpoint', 'GET', '/api/v1/secrets', undefined, 404],
  ] as const)('answers %s with a 4xx and a JSON error', async (_name, method, path, body, status) => {
    const r = await call(method, path, OPERATOR, body);
    expect(r.status).toBe(status);
    expect(r.body.error).toEqual({ code: expect.any(String), message: expect.any(String) });
  });

  it('runs a drill for an operator, lists the reports, and shows the verified recovery point per job', async () => {
    expect((await call('POST', '/api/v1/jobs/docs/drills', VIEWER, '{}')).status).toBe(403);
    expect((await call('POST', '/api/v1/jobs/docs/drills', OPERATOR, '{"site": "nowhere"}')).status).toBe(400);
    const started = await call('POST', '/api/v1/jobs/docs/drills', OPERATOR, '{}');
    expect(started.status).toBe(202);
    const op = await waitOperation((started.body.operation as { id: string }).id);
    expect(op).toMatchObject({ kind: 'drill', state: 'succeeded', result: { outcome: 'passed', site: 'a' } });
    const history = await call('GET', '/api/v1/jobs/docs/drills', VIEWER);
    expect((history.body.drills as { outcome: string; checks: unknown[] }[])[0]).toMatchObject({ outcome: 'passed', checks: [{ name: 'a.txt', passed: true, observed: '6 bytes' }] });
    const jobs = (await call('GET', '/api/v1/jobs', VIEWER)).body.jobs as { name: string; drill: { last: { outcome: string }; verifiedRecoveryPoint: string } }[];
    const docs = jobs.find((j) => j.name === 'docs')!;
    expect(docs.drill.last.outcome).toBe('passed');
    expect(docs.drill.verifiedRecoveryPoint).toBe((op.result as { snapshotCreatedAt: string }).snapshotCreatedAt);
  });

  it('tells a caller its role, lists recent operations, and rates each job against its objectives', async () => {
    expect((await call('GET', '/api/v1/whoami', VIEWER)).body).toEqual({ name: 'dash', role: 'viewer' });
    expect((await call('GET', '/api/v1/whoami', OPERATOR)).body).toEqual({ name: 'oncall', role: 'operator' });
    const ops = (await call('GET', '/api/v1/operations?job=docs&limit=2', VIEWER)).body.operations as { job: string; queuedAt: string }[];
    expect(ops).toHaveLength(2);
    expect(ops[0]!.queuedAt >= ops[1]!.queuedAt).toBe(true);
    expect((await call('GET', '/api/v1/operations?job=nope', VIEWER)).status).toBe(404);
    expect((await call('GET', '/api/v1/operations?limit=0', VIEWER)).status).toBe(400);
    const docs = ((await call('GET', '/api/v1/jobs', VIEWER)).body.jobs as Record<string, unknown>[])[0]!;
    expect(docs.status).toMatchObject({ level: 'ok', rpo: { level: 'ok', objectiveSeconds: 86400 }, rto: { level: 'ok', objectiveSeconds: 3600 }, drill: 'ok' });
    expect(docs.siteStates).toEqual([{ site: 'a', snapshots: expect.any(Number), reachable: true, lastError: null }]);
    expect(docs.lastBackup).toMatchObject({ state: 'succeeded', error: null });
  });

  it('describes itself in an OpenAPI document that lists every route it serves', async () => {
    const r = await call('GET', '/api/v1/openapi.json');
    expect(r.status).toBe(200);
    expect(r.body.openapi).toBe('3.1.0');
    expect(Object.keys(r.body.paths as object).sort()).toEqual(['/jobs', '/jobs/{job}/backups', '/jobs/{job}/drills', '/jobs/{job}/restores', '/jobs/{job}/snapshots', '/operations', '/operations/{id}', '/whoami']);
  });

  it('never writes a token to its logs', () => {
    const all = logs.join('');
    expect(all).not.toContain(VIEWER);
    expect(all).not.toContain(OPERATOR);
  });
});
