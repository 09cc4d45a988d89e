/**
 * Serves the on-call console (src/console/static) from the daemon's API listener at /console/.
 * The files are plain HTML, CSS and ES modules, read once at start: no build step, no external
 * origin. The pages hold no data; the scripts fetch /api/v1 with the user's bearer token, so
 * serving them needs no token.
 *
 * Every response carries a strict policy: scripts, styles and fetches from this origin only, no
 * inline script or style, no framing, no referrer.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
};

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

let assets: Map<string, Asset> | undefined;

function load(): Map<string, Asset> {
  // The bundle (bin/bundle) carries the files in a folder beside its own.
  const dir = join(import.meta.dirname, import.meta.filename.endsWith('.ts') ? 'static' : 'console');
  const out = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (!type) continue;
    const body = readFileSync(join(dir, name));
    out.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  return out;
}

/** Answers GET/HEAD under /console/; false when `path` is not the console's. */
export function serveConsole(req: IncomingMessage, res: ServerResponse, path: string): boolean {
  if (path === '/' || path === '/console') {
    res.writeHead(302, { location: '/console/', ...SECURITY_HEADERS });
    res.end();
    return true;
  }
  if (!path.startsWith('/console/')) return false;
  assets ??= load();
  const name = path.slice('/console/'.length) || 'index.html';
  const asset = /^[a-z][a-z0-9-]*\.[a-z]+$/.test(name) ? assets.get(name) : undefined;
  if (!asset) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
    res.end('not found\n');
    return true;
  }
  // Revalidated on every load, so an upgraded daemon never serves a stale script.
  const headers = { 'content-type': asset.type, etag: asset.etag, 'cache-control': 'no-cache', ...SECURITY_HEADERS };
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, headers);
    res.end();
    return true;
  }
  res.writeHead(200, { ...headers, 'content-length': asset.body.length });
  res.end(req.method === 'HEAD' ? undefined : asset.body);
  return true;
}
