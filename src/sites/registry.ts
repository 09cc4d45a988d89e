/** Creates the site for a site config. */
import type { SiteConfig } from '../config/model.ts';
import { FsSite } from './fs/fs-site.ts';
import { S3Site } from './s3/s3-site.ts';
import type { Site } from './site.ts';

export function createSite(cfg: SiteConfig): Site {
  if (cfg.type === 'fs') return new FsSite(cfg.name, cfg.path);
  return new S3Site(cfg);
}
