/**
 * Where a restore must not write, checked before anything is read or created: the job's own live
 * source (unless --into-source), and the folder of an fs site, whose repository the restored files
 * would be mixed into.
 */
import { LifeboatError } from '../errors.ts';
import { folderOverlap } from '../sources/real-path.ts';
import type { Source } from '../sources/source.ts';
import { isUrlTarget, redactTarget } from '../sources/url-target.ts';
import type { Context } from './context.ts';

export async function guardTarget(ctx: Context, source: Source, r: { readonly target: string; readonly intoSource?: boolean }, job: string): Promise<void> {
  // An empty target would resolve to the current folder.
  if (r.target.trim() === '') throw new LifeboatError('USAGE', `the restore target is empty: a ${source.kind} snapshot restores into ${source.targetKind}`);
  if (source.kind !== 'command' && !isUrlTarget(r.target)) {
    for (const [name, site] of ctx.config.sites) {
      if (site.type !== 'fs') continue;
      const how = await folderOverlap(r.target, site.path);
      if (how === 'is' || how === 'inside') {
        throw new LifeboatError('USAGE', `${r.target} is ${how === 'is' ? 'the folder' : 'inside the folder'} of site "${name}" (${site.path}): a restore there would write into the snapshots' repository. Restore elsewhere`);
      }
    }
  }
  if (r.intoSource) return;
  const overlap = await source.overlapsSource(r.target);
  if (overlap !== undefined) throw intoSourceError(r.target, overlap, job);
}

export function intoSourceError(target: string, overlap: string, job: string): LifeboatError {
  return new LifeboatError(
    'USAGE',
    `${redactTarget(target)} ${overlap} of job ${job}: restoring there overwrites the live data. Restore elsewhere, or add --into-source if that is really what you want`,
  );
}
