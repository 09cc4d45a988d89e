/**
 * The `signing` section: the Ed25519 key that signs manifests and drill reports (on the hosts that
 * write them), and the public keys whose signatures readers require. With `publicKeys` set, a
 * manifest or report that is unsigned, signed by another key, or altered is treated as damaged.
 */
import type { KeyObject } from 'node:crypto';
import { resolve } from 'node:path';
import { parsePublicKey, parseSigningKey, type SigningKey } from '../crypto/signing.ts';
import { describeError } from '../errors.ts';
import type { Collector } from './collector.ts';
import { resolveReferences } from './references.ts';

export interface SigningConfig {
  readonly key?: SigningKey;
  /** The file the key was read from. */
  readonly keyFile?: string;
  /** Trusted public keys by their text; empty: signatures are written (with a key) but not required. */
  readonly trusted: ReadonlyMap<string, KeyObject>;
}

export function buildSigning(raw: { keyFile?: string | undefined; publicKeys: string[] } | undefined, baseDir: string, c: Collector): SigningConfig {
  const trusted = new Map<string, KeyObject>();
  if (!raw) return { trusted };
  raw.publicKeys.forEach((text, i) => {
    try {
      trusted.set(text, parsePublicKey(text));
    } catch (err) {
      c.add(['signing', 'publicKeys', i], describeError(err));
    }
  });
  if (raw.keyFile === undefined) return { trusted };
  const path = resolve(baseDir, raw.keyFile);
  const r = resolveReferences(`\${file:${path}}`, {}, baseDir);
  if (!r.ok) {
    c.add(['signing', 'keyFile'], r.message.replace('secret file', 'signing key file'));
    return { trusted };
  }
  try {
    return { key: parseSigningKey(r.value), keyFile: path, trusted };
  } catch (err) {
    c.add(['signing', 'keyFile'], `${path} ${describeError(err)}`);
    return { trusted };
  }
}
