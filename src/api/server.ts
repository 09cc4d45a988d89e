/**
 * The HTTP listener: /metrics for Prometheus, /healthz (the process is alive) and /readyz (the
 * configuration is loaded and the catalog was read). The on-call API under /api/v1 comes later.
 */
import { createServer, type Server } from 'node:http';
import type { Metrics } from '../metrics/metrics.ts';

export interface ApiOptions {
  readonly metrics: Metrics;
  readonly ready: () => boolean;
}

export function createApiServer(o: ApiOptions): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    if (path === '/healthz') return send(200, 'ok\n');
    if (path === '/readyz') return o.ready() ? send(200, 'ready\n') : send(503, 'starting: reading the catalog\n');
    if (path === '/metrics') {
      o.metrics.registry.metrics().then(
        (text) => send(200, text, o.metrics.registry.contentType),
        () => send(500, 'metrics unavailable\n'),
      );
      return;
    }
    send(404, 'not found\n');
  });
}

/** Parses `host:port` (IPv6 as `[::1]:9464`). */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(listen);
  if (!m) throw new Error(`api.listen must be HOST:PORT, not "${listen}"`);
  return { host: m[1] ?? m[2]!, port: Number(m[3]) };
}
