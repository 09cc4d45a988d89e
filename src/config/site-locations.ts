/** Where the sites are: two sites at one location, or one inside another, are errors. */
import type { Collector } from './collector.ts';
import type { SiteConfig } from './model.ts';

export function checkSiteLocations(sites: ReadonlyMap<string, SiteConfig>, c: Collector): void {
  const locations = new Map<string, string>();
  for (const site of sites.values()) {
    const loc = siteLocation(site);
    const other = locations.get(loc);
    if (other !== undefined) c.add(['sites', site.name], `site "${site.name}" is the same location as site "${other}"`, true);
    locations.set(loc, site.name);
  }
  checkNestedSites(sites, c);
}

/**
 * A site inside another one: an fs site in another's folder, or an S3 prefix under another's in
 * the same bucket. The outer site's repository would hold the inner one's objects among its own,
 * where its prune, verify and heal walk.
 */
function checkNestedSites(sites: ReadonlyMap<string, SiteConfig>, c: Collector): void {
  for (const inner of sites.values()) {
    for (const outer of sites.values()) {
      const nested = nestedIn(outer, inner);
      if (nested) {
        c.add(['sites', inner.name], nested, true);
        break;
      }
    }
  }
}

/** Why `inner` lies strictly inside `outer`, or undefined (the same location is reported on its own). */
function nestedIn(outer: SiteConfig, inner: SiteConfig): string | undefined {
  if (outer.type === 'fs' && inner.type === 'fs') {
    if (outer.path === inner.path || !inner.path.startsWith(outer.path === '/' ? '/' : `${outer.path}/`)) return undefined;
    return `site "${inner.name}" (${inner.path}) is inside the folder of site "${outer.name}" (${outer.path}): give each site a folder of its own`;
  }
  if (outer.type === 's3' && inner.type === 's3') {
    const sameBucket = (outer.endpoint ?? 'aws') === (inner.endpoint ?? 'aws') && outer.bucket === inner.bucket;
    if (!sameBucket || outer.prefix === inner.prefix || !inner.prefix.startsWith(outer.prefix)) return undefined;
    return `site "${inner.name}" (prefix "${inner.prefix}") is inside site "${outer.name}" (prefix "${outer.prefix}") in bucket ${inner.bucket}: give each site a prefix that no other site's contains`;
  }
  return undefined;
}

function siteLocation(s: SiteConfig): string {
  return s.type === 'fs' ? `fs:${s.path}` : `s3:${s.endpoint ?? 'aws'}/${s.bucket}/${s.prefix}`;
}
