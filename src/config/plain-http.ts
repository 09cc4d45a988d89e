/**
 * S3 sites reached over plain HTTP on the network. What a site stores is encrypted and its
 * manifests hashed (and signed, with signing), but on the way a listener sees every request's
 * bucket, keys and access key id, and can answer in the site's place or cut uploads short. The
 * same host (loopback: a local gateway, a tunnel) is exempt. A warning, not an error: an
 * on-premises gateway inside one network is a choice an operator can make.
 */
import { isIP } from 'node:net';
import type { Config } from './model.ts';

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

export function plainHttpSites(config: Config): string[] {
  const warnings: string[] = [];
  for (const site of config.sites.values()) {
    if (site.type !== 's3' || site.endpoint === undefined) continue;
    let url: URL;
    try {
      url = new URL(site.endpoint);
    } catch {
      continue;
    }
    if (url.protocol !== 'http:' || isLoopback(url.hostname)) continue;
    warnings.push(
      `site "${site.name}" reaches ${url.host} over plain HTTP: anyone on the way sees its requests (bucket, keys, access key id) and can answer in its place; use https (caFile for a private CA)`,
    );
  }
  return warnings;
}
