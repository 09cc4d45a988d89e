/**
 * The snapshot manifest: a JSON document written after the payload, whose presence commits the
 * snapshot on that site. It holds no secrets — only facts needed to find, check and restore the
 * payload, and to tell a human what the snapshot is. Manifests read from a site are untrusted
 * input: parsed strictly, and the payload key must be the one the layout gives for the id.
 *
 * Format 1. New optional fields may be added; a change that old readers would misread needs a new
 * format number, and readers refuse formats newer than they know.
 */
import * as z from 'zod';
import type { KeyObject } from 'node:crypto';
import { checkSignature } from '../crypto/signing.ts';
import { LifeboatError } from '../errors.ts';
import { PAYLOAD_EXTS, isSnapshotId, partKey, payloadKey } from './layout.ts';

export const MANIFEST_FORMAT = 1;

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const bytes = z.int().min(0);
const fact = z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(z.string())]);

export const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  job: z.string().min(1),
  snapshotId: z.string().refine(isSnapshotId),
  /** When the dump started: the recovery point this snapshot represents. */
  createdAt: z.iso.datetime(),
  completedAt: z.iso.datetime(),
  source: z.object({
    kind: z.string(),
    facts: z.record(z.string(), fact),
    /** Databases: tables and estimated row counts at dump time (optional; drills compare them). */
    tables: z.array(z.object({ name: z.string(), rows: z.int().min(0).nullable() })).optional(),
  }),
  payload: z.object({
    key: z.string(),
    ext: z.enum(PAYLOAD_EXTS),
    plaintext: z.object({ bytes, sha256 }),
    ciphertext: z.object({ bytes, sha256 }),
    compression: z.object({ algorithm: z.literal('zstd'), level: z.int() }),
    encryption: z.object({ algorithm: z.literal('age-v1'), recipients: z.array(z.string()).min(1) }),
  }),
  /** Optional extra parts beside the payload, each with its own key, sizes and hashes. */
  parts: z
    .array(
      z.object({
        name: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/),
        key: z.string(),
        ext: z.enum(PAYLOAD_EXTS),
        plaintext: z.object({ bytes, sha256 }),
        ciphertext: z.object({ bytes, sha256 }),
        facts: z.record(z.string(), fact),
      }),
    )
    .optional(),
  timings: z.object({ dumpSeconds: z.number().min(0), totalSeconds: z.number().min(0) }),
  producer: z.object({ name: z.string(), version: z.string(), host: z.string() }),
  /** Ed25519 signature over the rest (crypto/signing.ts); optional. */
  signature: z.object({ algorithm: z.literal('ed25519'), publicKey: z.string(), value: z.string() }).optional(),
});

export type Manifest = z.infer<typeof manifestSchema>;

export function serializeManifest(m: Manifest): Buffer {
  return Buffer.from(`${JSON.stringify(m, null, 2)}\n`);
}

/** Parses a manifest read from `where`; throws INTEGRITY with a reason when it is not valid. */
export function parseManifest(text: string, where: string, expect: { job: string; id: string }, trusted?: ReadonlyMap<string, KeyObject>): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new LifeboatError('INTEGRITY', `${where}: the manifest is not valid JSON`);
  }
  // Checked on the document as stored, before parsing drops fields this version does not know.
  if (trusted && trusted.size > 0) {
    const why = json !== null && typeof json === 'object' ? checkSignature(json as Record<string, unknown>, trusted) : 'it is not an object';
    if (why !== undefined) throw new LifeboatError('INTEGRITY', `${where}: the manifest is not trusted: ${why}`);
  }
  const format = (json as { format?: unknown })?.format;
  if (typeof format === 'number' && format > MANIFEST_FORMAT) {
    throw new LifeboatError('INTEGRITY', `${where}: manifest format ${format} is newer than this Lifeboat understands (${MANIFEST_FORMAT}); upgrade Lifeboat`);
  }
  const r = manifestSchema.safeParse(json);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new LifeboatError('INTEGRITY', `${where}: invalid manifest (${first?.path.join('.') || 'root'}: ${first?.message ?? 'invalid'})`);
  }
  const m = r.data;
  if (m.job !== expect.job || m.snapshotId !== expect.id) {
    throw new LifeboatError('INTEGRITY', `${where}: the manifest describes ${m.job}/${m.snapshotId}, not ${expect.job}/${expect.id}`);
  }
  if (m.payload.key !== payloadKey(m.job, m.snapshotId, m.payload.ext)) {
    throw new LifeboatError('INTEGRITY', `${where}: the manifest names an unexpected payload key`);
  }
  for (const part of m.parts ?? []) {
    if (part.key !== partKey(m.job, m.snapshotId, part.name, part.ext) || part.name === 'payload' || part.name === 'manifest') {
      throw new LifeboatError('INTEGRITY', `${where}: the manifest names an unexpected key for part ${part.name}`);
    }
  }
  return m;
}
