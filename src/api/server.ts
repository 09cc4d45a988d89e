/**
 * The HTTP listener: /metrics for Prometheus, /healthz (the process is alive), /readyz (the
 * configuration is loaded and the catalog was read), the on-call API under /api/v1 (v1.ts), and
 * the web console under /console/ (src/console) when the daemon serves the API.
 * 401 without a valid bearer token, 403 with a token of the wrong role.
 */
import { createServer, type Server } from 'node:http';
import { serveConsole } from '../console/serve.ts';
import { exposition } from '../metrics/exposition.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { allows, authenticate, type TokenEntry } from './auth.ts';
import { openapi } from './openapi.ts';
import { handleV1, routeRole, type V1 } from './v1.ts';

export interface ApiOptions {
  readonly metrics: Metrics;
  readonly ready: () => boolean;
  readonly tokens: readonly TokenEntry[];
  /** /metrics and /healthz without a token. */
  readonly openMetrics: boolean;
  readonly v1?: V1;
}

export function createApiServer(o: ApiOptions): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    const json = (status: number, code: string, message: string): void => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...(status === 401 ? { 'www-authenticate': 'Bearer' } : {}) });
      res.end(`${JSON.stringify({ error: { code, message } })}\n`);
    };
    req.on('error', () => {});
    if (path === '/api/v1/openapi.json') {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(`${JSON.stringify(openapi, null, 2)}\n`);
      return;
    }
    if (path.startsWith('/api/v1/') && o.v1) {
      const parts = path.slice('/api/v1/'.length).split('/').map((p) => {
        try {
          return decodeURIComponent(p);
        } catch {
          return '\0';
        }
      });
      const needed = routeRole(req.method ?? 'GET', parts);
      if (!needed) return json(404, 'NOT_FOUND', `no endpoint ${req.method} ${path}`);
      const who = authenticate(req, o.tokens);
      if (!who.ok) return json(401, 'UNAUTHORIZED', 'a valid bearer token is needed (Authorization: Bearer …)');
      if (!allows(who.role, needed)) return json(403, 'FORBIDDEN', `token "${who.name}" has the ${who.role} role; this needs ${needed}`);
      void handleV1(o.v1, req, res, parts, { name: who.name, role: who.role });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    if (path === '/readyz') return o.ready() ? send(200, 'ready\n') : send(503, 'starting: reading the catalog\n');
    if ((path === '/healthz' || path === '/metrics') && !o.openMetrics) {
      const who = authenticate(req, o.tokens);
      if (!who.ok) return json(401, 'UNAUTHORIZED', 'a valid bearer token is needed (Authorization: Bearer …)');
    }
    if (path === '/healthz') return send(200, 'ok\n');
    if (o.v1 && serveConsole(req, res, path)) return;
    if (path === '/metrics') {
      exposition(o.metrics.registry).then(
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
