/**
 * Creates the site for a site config. The S3 implementation (and the AWS SDK, a large module tree)
 * is loaded only when a config has an s3 site, which keeps every other command quick to start.
 */
import type { SiteConfig } from '../config/model.ts';
import { FsSite } from './fs/fs-site.ts';
import type { Site } from './site.ts';

export async function createSite(cfg: SiteConfig): Promise<Site> {
  if (cfg.type === 'fs') return new FsSite(cfg.name, cfg.path);
  const { S3Site } = await import('./s3/s3-site.ts');
  return new S3Site(cfg);
}
