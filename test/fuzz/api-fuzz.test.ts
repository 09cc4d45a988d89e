// API fuzzing: malformed methods, paths, headers and bodies, and huge payloads, against the real
// HTTP listener with a daemon behind it. Every answer is a 4xx (or a 2xx for a request that happens
// to be valid) — never a 5xx — and the server keeps answering. Seeded, so a failure can be replayed.
import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer } from '../../src/api/server.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import { Metrics } from '../../src/metrics/metrics.ts';
import type { Context } from '../../src/operations/context.ts';
import { workspace, type Workspace } from '../helpers/fixture.ts';
import { prng } from '../helpers/prng.ts';

const CASES = 600;
const OPERATOR = 'fuzz-operator-token';
const VIEWER = 'fuzz-viewer-token';
const sha = (t: string): string => createHash('sha256').update(t).digest('hex');
let ws: Workspace;
let ctx: Context;
let daemon: Daemon;
let server: Server;
let port: number;

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];
const PATHS = [
  '/api/v1/jobs',
  '/api/v1/jobs/docs/snapshots',
  '/api/v1/jobs/docs/backups',
  '/api/v1/jobs/docs/restores',
  '/api/v1/jobs/docs/drills',
  '/api/v1/operations/00000000-0000-0000-0000-000000000000',
  '/api/v1/jobs/%E0%A4%A/snapshots',
  '/api/v1/jobs/..%2F..%2Fetc/snapshots',
  '/api/v1/jobs/docs%00/backups',
  `/api/v1/jobs/${'x'.repeat(5000)}/snapshots`,
  '/api/v1//jobs',
  '/api/v1/jobs/docs/snapshots/extra',
  '/metrics?x=1',
  '/healthz',
  '/readyz',
  '/api/v1/openapi.json',
  '/',
  '/api/v2/jobs',
];
const AUTH = [undefined, `Bearer ${OPERATOR}`, `Bearer ${VIEWER}`, 'Bearer', 'Basic dXNlcjpwYXNz', `bearer  ${OPERATOR} `, `Bearer ${'a'.repeat(9000)}`, 'Bearer \u00ff\u00fe'];
const TYPES = [undefined, 'application/json', 'text/plain', 'application/json; charset=utf-16', 'multipart/form-data; boundary=x'];

function body(rnd: () => number, target: string): string | undefined {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  return pick([
    undefined,
    '',
    '{',
    'null',
    '[]',
    '"x"',
    '{"target": 5}',
    `{"target": "${target}", "snapshot": {"a": 1}}`,
    `{"target": "${target}", "jobs": -3}`,
    `{"target": "${target}", "jobs": 1e400}`,
    `{"target": "${target}", "unknown": true}`,
    `{"target": "${target}", "snapshot": "20991231T000000Z-zzzzzz"}`,
    `{"site": "nowhere"}`,
    `{"snapshot": "latest", "site": 7}`,
    '{"a":'.repeat(2000) + '1' + '}'.repeat(2000),
    JSON.stringify({ target, pad: 'x'.repeat(70_000) }),
    '\u0000\u0001\u0002',
    '{"__proto__": {"polluted": true}, "target": "x"}',
  ]);
}

beforeAll(async () => {
  ws = await workspace();
  await mkdir(join(ws.dir, 'data'));
  await writeFile(join(ws.dir, 'data', 'a.txt'), 'alpha\n');
  ctx = await ws.context(
    `sites:\n  a: { type: fs, path: ./site-a }\napi:\n  tokens:\n    - { name: op, role: operator, sha256: ${sha(OPERATOR)} }\n    - { name: view, role: viewer, sha256: ${sha(VIEWER)} }\n  openMetrics: false\njobs:\n  docs:\n    source: { type: files, paths: [./data] }\n    drill:\n      target: { type: directory }\n`,
  );
  daemon = new Daemon(ctx, new Metrics(), pino({ level: 'silent' }), { concurrency: 1, shutdownGraceMs: 1000, retries: 0, retryDelayMs: 1000, leaseTtlMs: 60_000 });
  const metrics = new Metrics();
  server = createApiServer({ metrics, ready: () => true, tokens: ctx.config.api.tokens, openMetrics: false, v1: { ctx, daemon } });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await daemon?.stop();
  server?.closeAllConnections();
  server?.close();
  ctx?.close();
  await ws?.cleanup();
});

describe('API fuzzing', () => {
  it(`${CASES} malformed requests get 4xx (never 5xx), and the server keeps answering`, async () => {
    const statuses = new Map<number, number>();
    for (let seed = 1; seed <= CASES; seed++) {
      const rnd = prng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
      const method = pick(METHODS);
      const path = pick(PATHS);
      const headers: Record<string, string> = {};
      const auth = pick(AUTH);
      if (auth !== undefined) headers.authorization = auth;
      const type = pick(TYPES);
      if (type !== undefined) headers['content-type'] = type;
      const b = method === 'GET' || method === 'HEAD' ? undefined : body(rnd, join(ws.dir, 'restores', String(seed)));
      let status: number;
      try {
        const res = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers, ...(b !== undefined ? { body: b } : {}), signal: AbortSignal.timeout(10_000) });
        status = res.status;
        await res.arrayBuffer();
      } catch (err) {
        // The server may close a connection it will not read (a body too large): not a crash.
        status = (err as Error).name === 'TimeoutError' ? 599 : 0;
      }
      if (status >= 500) throw new Error(`case ${seed}: ${method} ${path.slice(0, 80)} answered ${status}`);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    expect([...statuses.keys()].some((s) => s >= 400 && s < 500)).toBe(true);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
  }, 120_000);

  it('answers raw malformed HTTP with 400 and stays up', async () => {
    for (const raw of ['GET /api/v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n', 'BREW /pot HTCPCP/1.0\r\n\r\n', `GET /${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 'GET / HTTP/1.1\r\nHost: x\r\nX: \u0000\r\n\r\n']) {
      const answer = await new Promise<string>((resolve) => {
        const s = connect(port, '127.0.0.1', () => s.end(raw));
        let out = '';
        s.on('data', (d: Buffer) => (out += d.toString()));
        s.on('close', () => resolve(out));
        s.on('error', () => resolve(out));
        s.setTimeout(5000, () => s.destroy());
      });
      expect(answer === '' || /^HTTP\/1\.1 4\d\d/.test(answer)).toBe(true);
    }
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
  });
});
