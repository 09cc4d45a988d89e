/**
 * The restore data path, the mirror of backup:
 *
 *     site ─▶ measure(cipher, expect) ─▶ age⁻¹ ─▶ zstd⁻¹ ─▶ measure(plain size, expect) ─▶ [vet] ─▶ source.restore(target)
 *
 * Everything up to the source runs in a worker thread (restore-worker/), and a consumer process
 * (tar, pg_restore, the mysql client) reads the plaintext from it directly.
 *
 * What is checked, and why that is enough: the stored object's size and SHA-256 against the
 * manifest, which refuses a damaged copy and a whole payload swapped for another one sealed to the
 * same recipient; age authenticates every 64 KiB chunk before releasing it (and a cut stream by its
 * last-chunk flag); zstd checks every frame's content checksum, which the compressor computed over
 * the very bytes it was given. The plaintext is therefore what the backup read, and its size is
 * compared too, but its SHA-256 is not computed again: hashing the ciphertext instead costs
 * 1/ratio as much (a tenth for a typical database dump), on two cores where a restore is CPU-bound.
 * `verify --deep` still checks the plaintext's SHA-256 end to end.
 *
 * Any failure is a stream error that the source sees before it commits, so a corrupt snapshot is
 * never restored as a success. When a site fails or its copy is damaged, the next site holding the
 * snapshot is tried, and the caller is told why.
 */
import type { Readable } from 'node:stream';
import type { Manifest } from '../catalog/manifest.ts';
import type { Identity } from '../crypto/keys.ts';
import { LifeboatError, describeError, type ErrorCode } from '../errors.ts';
import type { Site } from '../sites/site.ts';
import type { Facts, PreparedTarget, Source, TargetOptions } from '../sources/source.ts';
import type { Vetting } from './restore-worker/protocol.ts';
import { Plaintext, type WorkerStart } from './restore-worker/plaintext.ts';

export interface RestoreInput {
  readonly manifest: Manifest;
  /** Sites holding the snapshot, in the order to try them. */
  readonly sites: readonly Site[];
  readonly identities: readonly Identity[];
  readonly source: Source;
  readonly target: string;
  readonly options: TargetOptions & { readonly prepared?: PreparedTarget };
  /** Extra parts to restore first, by name (e.g. ["globals"]). */
  readonly parts?: readonly string[];
  readonly signal: AbortSignal;
  /** A restore worker started ahead; the first object restored uses it. */
  readonly worker?: WorkerStart;
  readonly onProgress?: (p: { site: string; bytes: number; total: number }) => void;
  /** Called when a site failed and the next one will be tried. */
  readonly onFallback?: (site: string, error: LifeboatError, next: string) => void;
}

export interface RestoreResult {
  readonly site: string;
  readonly facts: Facts;
  readonly failedSites: { site: string; error: LifeboatError }[];
}

/** Failures that another site's copy cannot fix: stop instead of trying the next site. */
const NOT_SITE_SPECIFIC: ReadonlySet<ErrorCode> = new Set(['DECRYPT_NO_MATCH', 'RESTORE_FAILED', 'USAGE', 'ABORTED', 'KEY_INVALID']);

interface Stored {
  readonly what: string;
  readonly key: string;
  readonly plaintext: { bytes: number; sha256: string };
  readonly ciphertext: { bytes: number; sha256: string };
  readonly vet?: Vetting;
}

/**
 * Downloads, verifies and decrypts one stored object in a worker thread (restore-worker/), handing
 * the plaintext to `consume`.
 */
async function restoreObject(site: Site, input: RestoreInput, obj: Stored, consume: (plain: Readable) => Promise<Facts>): Promise<Facts> {
  const where = `site "${site.name}": snapshot ${input.manifest.snapshotId}`;
  const plain = await Plaintext.start({
    ...(input.worker ? { worker: input.worker } : {}),
    site,
    key: obj.key,
    identities: input.identities,
    cipher: { ...obj.ciphertext, what: `${where}: the stored ${obj.what} does not match its manifest` },
    plain: { ...obj.plaintext, what: `${where}: the restored ${obj.what} does not match its manifest` },
    ...(obj.vet ? { vet: obj.vet } : {}),
    signal: input.signal,
    onProgress: (bytes) => input.onProgress?.({ site: site.name, bytes, total: obj.ciphertext.bytes }),
  });
  try {
    const facts = await consume(plain);
    await plain.verdict;
    return facts;
  } catch (err) {
    // A damaged or forged payload is the root cause of whatever the consumer then reported.
    const upstream = await plain.stop();
    throw upstream instanceof LifeboatError ? upstream : err;
  }
}

async function restoreFrom(site: Site, input: RestoreInput): Promise<Facts> {
  const { manifest, source } = input;
  const o = { ...input.options, signal: input.signal };
  const partFacts: Facts = {};
  for (const name of input.parts ?? []) {
    const part = manifest.parts?.find((p) => p.name === name);
    if (!part || !source.restorePart) throw new LifeboatError('USAGE', `snapshot ${manifest.snapshotId} has no ${name} part to restore`);
    const facts = await restoreObject(site, input, { ...part, what: `${name} part` }, (plain) => source.restorePart!(name, plain, input.target, o));
    for (const [k, v] of Object.entries(facts)) partFacts[`${name}.${k}`] = v;
  }
  const vet = source.restoreVetting ? { kind: source.restoreVetting, what: `restore into ${input.target}` } : undefined;
  const facts = await restoreObject(site, input, { ...manifest.payload, what: 'payload', ...(vet ? { vet } : {}) }, (plain) => source.restore(plain, input.target, o));
  return { ...partFacts, ...facts };
}

function withSite(site: string, err: unknown): LifeboatError {
  if (err instanceof LifeboatError) {
    if (err.message.includes(`site "${site}"`) || NOT_SITE_SPECIFIC.has(err.code)) return err;
    return new LifeboatError(err.code, `site "${site}": ${err.message}`, { permanent: err.permanent, cause: err });
  }
  if ((err as Error)?.name === 'AbortError') return new LifeboatError('ABORTED', 'the restore was aborted');
  return new LifeboatError('SITE_ERROR', `site "${site}": ${describeError(err)}`, { permanent: false });
}

export async function restorePipeline(input: RestoreInput): Promise<RestoreResult> {
  if (input.sites.length === 0) throw new LifeboatError('NOT_FOUND', `no site holds snapshot ${input.manifest.snapshotId}`);
  const failedSites: { site: string; error: LifeboatError }[] = [];
  for (let i = 0; i < input.sites.length; i++) {
    const site = input.sites[i]!;
    try {
      const facts = await restoreFrom(site, input);
      return { site: site.name, facts, failedSites };
    } catch (err) {
      const e = withSite(site.name, err);
      if (NOT_SITE_SPECIFIC.has(e.code) || input.signal.aborted) throw e;
      failedSites.push({ site: site.name, error: e });
      const next = input.sites[i + 1];
      if (next) input.onFallback?.(site.name, e, next.name);
    }
  }
  const reasons = failedSites.map((f) => f.error.message).join('; ');
  throw new LifeboatError('RESTORE_FAILED', `no site could restore snapshot ${input.manifest.snapshotId}: ${reasons}`);
}
