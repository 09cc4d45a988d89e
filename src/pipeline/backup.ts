/**
 * The backup data path:
 *
 *     source ─▶ measure(plain) ─▶ zstd (frames, on every core) ─▶ age ─▶ measure(cipher) ─▶ fan-out ─▶ site₁ … siteₙ
 *
 * Bytes are read once and streamed to every site at the same time; memory is bounded by the
 * stream buffers and each site's upload buffer, never by the snapshot size. A site's manifest is
 * written only after its payload is complete and the source reported success (exit status), so a
 * manifest always describes a whole, verified payload. Whatever fails is cleaned up: aborted
 * uploads, payloads of a failed dump, payloads whose manifest could not be written.
 */
import { hostname } from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { manifestKey, partKey, payloadKey } from '../catalog/layout.ts';
import { MANIFEST_FORMAT, serializeManifest, type Manifest } from '../catalog/manifest.ts';
import { snapshotTime } from '../catalog/snapshot-id.ts';
import type { Recipient } from '../crypto/keys.ts';
import { createEncryptStream } from '../crypto/age.ts';
import { LifeboatError, describeError } from '../errors.ts';
import type { Site } from '../sites/site.ts';
import type { Dump, Facts, Source } from '../sources/source.ts';
import { VERSION } from '../version.ts';
import { signDocument, type SigningKey } from '../crypto/signing.ts';
import { FanOut } from './fanout.ts';
import { ChildOutput } from '../sources/child-output.ts';
import { ParallelZstdCompress } from './zstd/compress.ts';
import { Measure } from './measure.ts';
import type { EarlyDump } from './early-dump.ts';

export interface BackupInput {
  readonly job: string;
  readonly snapshotId: string;
  readonly source: Source;
  readonly sites: readonly Site[];
  readonly minSites: number;
  readonly recipients: readonly Recipient[];
  readonly compressionLevel: number;
  /** zstd frames compressed at once: a number, or `auto` (the default) to follow the source, up to every core. */
  readonly compressionThreads?: number | 'auto';
  /** Signs the manifest (Ed25519), when configured. */
  readonly signingKey?: SigningKey;
  readonly signal: AbortSignal;
  readonly onProgress?: (p: { sourceBytes: number; storedBytes: number }) => void;
  /** The source's dump, when the caller started it ahead (startDump); otherwise the pipeline starts it. */
  readonly early?: EarlyDump;
}

export interface SiteOutcome {
  readonly site: string;
  readonly committed: boolean;
  readonly error?: LifeboatError;
}

export interface BackupResult {
  readonly manifest: Manifest;
  readonly sites: SiteOutcome[];
}

function asLifeboatError(err: unknown, site: string): LifeboatError {
  if (err instanceof LifeboatError) return err;
  return new LifeboatError('SITE_ERROR', `site "${site}": ${describeError(err)}`, { permanent: false });
}

interface PartResult {
  readonly key: string;
  readonly plaintext: { bytes: number; sha256: string };
  readonly ciphertext: { bytes: number; sha256: string };
  readonly facts: Facts;
  readonly dumpSeconds: number;
  /** Sites that hold the whole part; the others, with why not. */
  readonly stored: Site[];
  readonly failed: Map<string, LifeboatError>;
}

interface PartInput extends Pick<BackupInput, 'job' | 'minSites' | 'recipients' | 'compressionLevel' | 'compressionThreads' | 'signal' | 'onProgress'> {
  readonly key: string;
  readonly dump: (o: { signal: AbortSignal }) => Dump;
  /** When the dump started, if before this part's pipeline (an early dump). */
  readonly dumpStartedAt?: number;
  readonly sites: readonly Site[];
}

/** A fixed number of compression workers, or adaptive up to every core. */
function threadOptions(threads: number | 'auto' | undefined): { workers?: number; adaptive?: boolean } {
  return typeof threads === 'number' ? { workers: threads } : { adaptive: true };
}

/**
 * Streams one dump to every site under `key`. Resolves when the dump succeeded and enough sites
 * stored it whole; otherwise removes what it stored and throws the error that explains it best
 * (the dump's own, with its stderr, when the dump failed).
 */
async function streamPart(input: PartInput): Promise<PartResult> {
  const { key, sites } = input;
  const started = Date.now();
  const ac = new AbortController();
  const onOuterAbort = (): void => ac.abort(input.signal.reason);
  input.signal.addEventListener('abort', onOuterAbort, { once: true });
  const plain = new Measure();
  const cipher = new Measure({ onBytes: (stored) => input.onProgress?.({ sourceBytes: plain.bytes, storedBytes: stored }) });
  const fan = new FanOut(
    sites.map((s) => s.name),
    input.minSites,
  );
  const failed = new Map<string, LifeboatError>();
  const puts = sites.map((site) =>
    site.put(key, fan.branch(site.name), { signal: ac.signal, retain: true }).then(
      (r) => r,
      (err: unknown) => {
        const e = asLifeboatError(err, site.name);
        if (!failed.has(site.name)) failed.set(site.name, e);
        fan.fail(site.name, e);
        return undefined;
      },
    ),
  );
  const dump = input.dump({ signal: ac.signal });
  let dumpSeconds = 0;
  try {
    const compress = new ParallelZstdCompress({ level: input.compressionLevel, ...threadOptions(input.compressionThreads) });
    // A child's output is read straight into the compressor's frames (no copy); any other stream flows through.
    // The compressor's frames are handed over: each is freed once sealed.
    const encrypt = createEncryptStream(input.recipients, { consumeInput: true });
    const flow =
      dump.stream instanceof ChildOutput
        ? pipeline(compress.readFrom(dump.stream, (piece) => plain.observe(piece), () => plain.finish()), encrypt, cipher, fan)
        : pipeline(dump.stream, plain, compress, encrypt, cipher, fan);
    // The fan-out may fail after the dump already did (its uploads are aborted then): that error is
    // reported through `flow` or not at all, never as an unhandled 'error' event.
    fan.on('error', () => {});
    flow.catch(() => {});
    // Whichever fails first explains the failure: the dump's exit status carries its stderr.
    await Promise.all([flow, dump.done.then(() => void (dumpSeconds = (Date.now() - (input.dumpStartedAt ?? started)) / 1000))]);
  } catch (err) {
    ac.abort();
    await Promise.allSettled(puts);
    await deleteQuietly(sites, [key]);
    input.signal.removeEventListener('abort', onOuterAbort);
    if (input.signal.aborted) throw new LifeboatError('ABORTED', `backup of ${input.job} aborted; nothing was committed`);
    const dumpError = await dump.done.then(() => undefined, (e: unknown) => e);
    // A dump that was only stopped here (above, because the sites failed: a full disk on every
    // one of them, say) explains nothing; the sites' failure does.
    const stoppedHere = dumpError instanceof LifeboatError && dumpError.code === 'ABORTED';
    const cause = stoppedHere ? err : (dumpError ?? err);
    if (cause instanceof LifeboatError) throw cause;
    throw new LifeboatError('BACKUP_FAILED', `backup of ${input.job} failed: ${describeError(cause)}`);
  }
  const facts = await dump.done;
  const results = await Promise.all(puts);
  input.signal.removeEventListener('abort', onOuterAbort);
  const stored: Site[] = [];
  await Promise.all(
    sites.map(async (site, i) => {
      if (failed.has(site.name)) return;
      const r = results[i];
      if (r && r.bytes === cipher.bytes) return void stored.push(site);
      await site.delete(key).catch(() => {});
      failed.set(site.name, new LifeboatError('INTEGRITY', `site "${site.name}": stored ${r?.bytes ?? 0} bytes of ${cipher.bytes}`, { permanent: false }));
    }),
  );
  return {
    key,
    plaintext: { bytes: plain.bytes, sha256: plain.sha256() },
    ciphertext: { bytes: cipher.bytes, sha256: cipher.sha256() },
    facts,
    dumpSeconds,
    stored: sites.filter((s) => stored.includes(s)),
    failed,
  };
}

export async function backupPipeline(input: BackupInput): Promise<BackupResult> {
  const { job, snapshotId, source, sites } = input;
  const started = Date.now();
  const common = { job, minSites: input.minSites, recipients: input.recipients, compressionLevel: input.compressionLevel, compressionThreads: input.compressionThreads, signal: input.signal };
  // Read beside the dump, once it runs (both start client tools; the dump goes first); a failure
  // only leaves the manifest without a table list.
  let dumpRuns!: () => void;
  const inventory = new Promise<void>((resolve) => (dumpRuns = resolve)).then(() => source.inventory?.()).catch(() => undefined);
  const main = await streamPart({
    ...common,
    key: payloadKey(job, snapshotId, source.ext),
    dump: (o) => {
      const dump = input.early ? input.early.take(o.signal) : source.dump(o);
      (dump.started ?? Promise.resolve()).then(dumpRuns, dumpRuns);
      return dump;
    },
    ...(input.early ? { dumpStartedAt: input.early.startedAt } : {}),
    sites,
    ...(input.onProgress ? { onProgress: input.onProgress } : {}),
  });
  // Extra parts (PostgreSQL's roles, say) go to the sites that hold the main payload.
  const parts: PartResult[] = [];
  const partInfo: NonNullable<Manifest['parts']> = [];
  let holding = main.stored;
  const failed = new Map(main.failed);
  for (const part of source.extraParts?.() ?? []) {
    const key = partKey(job, snapshotId, part.name, part.ext);
    let r: PartResult;
    try {
      r = await streamPart({ ...common, key, dump: (o) => part.dump(o), sites: holding });
    } catch (err) {
      await deleteQuietly(sites, [main.key, ...parts.map((p) => p.key)]);
      throw err;
    }
    for (const [site, e] of r.failed) failed.set(site, e);
    holding = r.stored;
    parts.push(r);
    partInfo.push({ name: part.name, key, ext: part.ext, plaintext: r.plaintext, ciphertext: r.ciphertext, facts: r.facts });
  }

  const tables = await inventory;
  const unsigned: Manifest = {
    format: MANIFEST_FORMAT,
    job,
    snapshotId,
    createdAt: snapshotTime(snapshotId).toISOString(),
    completedAt: new Date().toISOString(),
    source: { kind: source.kind, facts: main.facts, ...(tables?.length ? { tables } : {}) },
    payload: {
      key: main.key,
      ext: source.ext,
      plaintext: main.plaintext,
      ciphertext: main.ciphertext,
      compression: { algorithm: 'zstd', level: input.compressionLevel },
      encryption: { algorithm: 'age-v1', recipients: input.recipients.map((r) => r.text) },
    },
    ...(partInfo.length ? { parts: partInfo } : {}),
    timings: { dumpSeconds: main.dumpSeconds, totalSeconds: (Date.now() - started) / 1000 },
    producer: { name: 'lifeboat', version: VERSION, host: hostname() },
  };
  const manifest: Manifest = input.signingKey ? signDocument(unsigned, input.signingKey) : unsigned;

  // Commit per site: a manifest only where every part arrived whole.
  const keys = [main.key, ...parts.map((p) => p.key)];
  const outcomes = await Promise.all(
    sites.map(async (site): Promise<SiteOutcome> => {
      const known = failed.get(site.name);
      if (known || !holding.includes(site)) {
        await deleteQuietly([site], keys);
        return { site: site.name, committed: false, error: known ?? new LifeboatError('BACKUP_FAILED', `site "${site.name}": not every part was stored`) };
      }
      try {
        await site.put(manifestKey(job, snapshotId), streamOf(serializeManifest(manifest)), { signal: input.signal, retain: true });
        return { site: site.name, committed: true };
      } catch (err) {
        await deleteQuietly([site], keys);
        return { site: site.name, committed: false, error: asLifeboatError(err, site.name) };
      }
    }),
  );
  return { manifest, sites: outcomes };
}

async function deleteQuietly(sites: readonly Site[], keys: readonly string[]): Promise<void> {
  await Promise.allSettled(sites.flatMap((s) => keys.map((k) => s.delete(k))));
}

function streamOf(buf: Buffer): Readable {
  return Readable.from([buf]);
}
