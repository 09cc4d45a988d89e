/**
 * The paths of one files job, checked together. With several paths, each folder is stored in the
 * archive under its own name (walk.ts: rootsFor), so two folders of the same name would be unpacked
 * into one and the restore would silently keep only one of each clashing file; a path listed twice,
 * or inside another, would be stored twice.
 */
import { basename } from 'node:path';
import type { Collector } from './collector.ts';
import type { PathSegment } from './locate.ts';

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
