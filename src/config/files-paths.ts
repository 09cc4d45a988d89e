/**
 * The paths of a files job, checked together and against the config's fs sites: what would make
 * the snapshots hold less than the folders (two stored under one name), or more (a folder twice,
 * a site's own snapshots).
 */
import { basename, isAbsolute, matchesGlob, relative } from 'node:path';
import type { Collector } from './collector.ts';
import type { PathSegment } from './locate.ts';
import type { SiteConfig } from './model.ts';

/**
 * With several paths, each folder is stored in the archive under its own name (walk.ts: rootsFor),
 * so two folders of the same name would be unpacked into one and the restore would silently keep
 * only one of each clashing file; a path listed twice, or inside another, would be stored twice.
 */
export function checkFilesPaths(raw: readonly string[], resolved: readonly string[], path: readonly PathSegment[], c: Collector): void {
  if (resolved.length < 2) return;
  const named = new Map<string, number>();
  resolved.forEach((p, i) => {
    const at = [...path, 'paths', i];
    const name = basename(p);
    if (name === '') {
      c.add(at, `"${raw[i]}" is the filesystem's root, which cannot be one of several paths (each is stored under its folder's name): give it a job of its own`);
      return;
    }
    const twin = resolved.findIndex((q, j) => j < i && q === p);
    if (twin >= 0) return c.add(at, `"${raw[i]}" is the same folder as paths[${twin}] "${raw[twin]}": list it once`);
    const outer = resolved.findIndex((q, j) => j !== i && p.startsWith(`${q}/`));
    if (outer >= 0) return c.add(at, `"${raw[i]}" is inside paths[${outer}] "${raw[outer]}": its files would be stored twice; list only the outer folder`);
    const same = named.get(name);
    if (same !== undefined) {
      return c.add(
        at,
        `"${raw[i]}" would be stored as "${name}/", as paths[${same}] "${raw[same]}" is: a restore could not keep them apart. Back them up in separate jobs, or list their common parent folder with include patterns`,
      );
    }
    named.set(name, i);
  });
}

/**
 * A files job whose folders hold an fs site would store that site's snapshots in every backup: the
 * earlier backups in each new one, so that they grow with every run. Refused unless an exclude
 * pattern leaves the site out (patterns match the path inside the snapshot, as walk.ts does).
 */
export function checkSitesOutsideSources(
  job: string,
  source: { readonly paths: readonly string[]; readonly exclude: readonly string[] },
  raw: readonly string[],
  sites: ReadonlyMap<string, SiteConfig>,
  c: Collector,
): void {
  source.paths.forEach((p, i) => {
    // The root among several paths is refused already (checkFilesPaths).
    if (source.paths.length > 1 && basename(p) === '') return;
    for (const [name, site] of sites) {
      if (site.type !== 'fs') continue;
      const inside = relative(p, site.path);
      if (inside === '..' || inside.startsWith('../') || isAbsolute(inside)) continue;
      const member = source.paths.length === 1 ? inside : [basename(p), inside].filter(Boolean).join('/');
      const parts = member.split('/').filter(Boolean);
      const excluded = parts.some((_, k) => source.exclude.some((pattern) => matchesGlob(parts.slice(0, k + 1).join('/'), pattern)));
      if (excluded) continue;
      const hint = member === '' ? 'move the site out of it' : `move the site, or add exclude: ["${member}"]`;
      c.add(['jobs', job, 'source', 'paths', i], `"${raw[i]}" holds site "${name}" (${site.path}): every backup would store the ones before it; ${hint}`);
    }
  });
}
