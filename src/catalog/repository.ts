/**
 * The repository marker `lifeboat.json` at a site's root: created on first use, and checked
 * before writing so that Lifeboat never writes into a repository of a newer format than it knows.
 */
import { Readable } from 'node:stream';
import { LifeboatError, isLifeboatError } from '../errors.ts';
import type { Site } from '../sites/site.ts';
import { MARKER_KEY, REPOSITORY_FORMAT } from './layout.ts';

export async function ensureRepository(site: Site): Promise<void> {
  if (!(await site.stat(MARKER_KEY))) {
    const marker = Buffer.from(`${JSON.stringify({ format: REPOSITORY_FORMAT, createdAt: new Date().toISOString() })}\n`);
    try {
      await site.put(MARKER_KEY, Readable.from([marker]), { ifNoneMatch: true });
      return;
    } catch (err) {
      if (!isLifeboatError(err, 'CONFLICT')) throw err;
    }
  }
  const text = (await site.getBytes(MARKER_KEY, 64 << 10)).toString('utf8');
  let format: unknown;
  try {
    format = (JSON.parse(text) as { format?: unknown }).format;
  } catch {
    format = undefined;
  }
  if (typeof format !== 'number') throw new LifeboatError('INTEGRITY', `site "${site.name}": ${MARKER_KEY} is not a Lifeboat repository marker`);
  if (format > REPOSITORY_FORMAT) {
    throw new LifeboatError('INTEGRITY', `site "${site.name}": the repository has format ${format}, newer than this Lifeboat understands (${REPOSITORY_FORMAT}); upgrade Lifeboat`);
  }
}
