// Notifications: webhooks and healthchecks-style pings against a real HTTP server on 127.0.0.1,
// retried until delivered, never blocking a backup, and never logging the secret parts of a URL.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NotifyTarget } from '../../src/config/model.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import { Metrics } from '../../src/metrics/metrics.ts';
import { Notifier, type NotifyEvent } from '../../src/notify/notifier.ts';
import { workspace, type Workspace } from '../helpers/fixture.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server;
let base: string;
const seen: Seen[] = [];
/** Status codes to answer with, in order; "hang" never answers. Empty: 200. */
const script: (number | 'hang')[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (b: Buffer) => (body += b.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const next = script.shift() ?? 200;
      if (next !== 'hang') res.writeHead(next).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

function capture(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _e, cb) => (lines.push(chunk.toString()), cb()) });
  return { log: pino(sink), lines };
}

const event = (outcome: 'success' | 'failure'): NotifyEvent => ({
  event: outcome === 'success' ? 'backup.succeeded' : 'backup.failed',
  outcome,
  job: 'app',
  snapshotId: '20261127T060000Z-abcdef',
  startedAt: '2026-11-27T06:00:00.000Z',
  finishedAt: '2026-11-27T06:00:05.000Z',
});

function notifier(log: pino.Logger, results: boolean[], o: { attempts?: number; timeoutMs?: number } = {}): Notifier {
  return new Notifier(log, { attempts: o.attempts ?? 3, timeoutMs: o.timeoutMs ?? 2000, retryDelayMs: 20, onResult: (_job, ok) => results.push(ok) });
}

describe('notifications', () => {
  it('POSTs the event as JSON with the configured headers, retrying a 503 until delivered', async () => {
    seen.length = 0;
    script.push(503);
    const results: boolean[] = [];
    const { log, lines } = capture();
    const target: NotifyTarget = { type: 'webhook', url: `${base}/hooks/s3cr3t-path`, on: ['success', 'failure'], headers: { Authorization: 'Bearer hook-token-123' } };
    notifier(log, results).send([target], event('success'));
    await expect.poll(() => results).toEqual([true]);
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(['POST /hooks/s3cr3t-path', 'POST /hooks/s3cr3t-path']);
    expect(seen[1]!.headers.authorization).toBe('Bearer hook-token-123');
    expect(JSON.parse(seen[1]!.body)).toMatchObject({ event: 'backup.succeeded', job: 'app', snapshotId: '20261127T060000Z-abcdef', lifeboat: expect.any(String) });
    const text = lines.join('');
    expect(text).toContain('HTTP 503');
    expect(text).not.toMatch(/s3cr3t-path|hook-token-123/);
  });

  it('pings the URL on success and URL/fail on failure, and skips outcomes not listed in `on`', async () => {
    seen.length = 0;
    const results: boolean[] = [];
    const n = notifier(capture().log, results);
    const ping: NotifyTarget = { type: 'ping', url: `${base}/ping/0f1e2d`, on: ['success', 'failure'] };
    const failuresOnly: NotifyTarget = { type: 'webhook', url: `${base}/only-failures`, on: ['failure'] };
    n.send([ping, failuresOnly], event('success'));
    n.send([ping, failuresOnly], event('failure'));
    await expect.poll(() => results.length).toBe(3);
    expect(seen.map((s) => `${s.method} ${s.url}`).sort()).toEqual(['GET /ping/0f1e2d', 'GET /ping/0f1e2d/fail', 'POST /only-failures']);
  });

  it('gives up after its attempts on a target that never answers, and says so without the URL path', async () => {
    seen.length = 0;
    script.push('hang', 'hang');
    const results: boolean[] = [];
    const { log, lines } = capture();
    notifier(log, results, { attempts: 2, timeoutMs: 200 }).send([{ type: 'ping', url: `${base}/ping/secret-uuid`, on: ['success'] }], event('success'));
    await expect.poll(() => results).toEqual([false]);
    expect(seen).toHaveLength(2);
    const text = lines.join('');
    expect(text).toContain('no answer within 0.2 s');
    expect(text).toContain(`ping ${base}`);
    expect(text).not.toContain('secret-uuid');
  });

  describe('in the daemon', () => {
    let ws: Workspace;
    afterAll(() => ws?.cleanup());

    it('never holds a backup back: the run finishes while its webhook still waits for an answer', async () => {
      seen.length = 0;
      script.push('hang');
      ws = await workspace();
      const ctx = await ws.context(
        `sites:\n  a: { type: fs, path: ./site-a }\njobs:\n  app:\n    source: { type: command, dump: [echo, hi] }\n    notify:\n      - { type: webhook, url: "${base}/slow" }\n`,
      );
      const metrics = new Metrics();
      const daemon = new Daemon(ctx, metrics, pino({ level: 'silent' }), {
        concurrency: 1,
        shutdownGraceMs: 1000,
        retries: 0,
        retryDelayMs: 1000,
        leaseTtlMs: 60_000,
        notify: { attempts: 2, timeoutMs: 1500, retryDelayMs: 20 },
      });
      const op = daemon.trigger(ctx.job('app'), 'test')!;
      await expect.poll(() => op.state, { timeout: 10_000 }).toBe('succeeded');
      // The run has finished; its webhook arrives and hangs without holding anything back.
      await expect.poll(() => seen.map((s) => s.url)).toEqual(['/slow']);
      const text = async (): Promise<string> => (await metrics.registry.metrics()).split('\n').filter((l) => l.startsWith('lifeboat_notifications_total')).join('\n');
      expect(await text()).toBe('');
      await expect.poll(text, { timeout: 5000 }).toBe('lifeboat_notifications_total{backup_job="app",outcome="delivered"} 1');
      expect(seen).toHaveLength(2);
      await daemon.stop();
      ctx.close();
    });
  });
});
