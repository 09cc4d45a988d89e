/**
 * Bearer tokens. The config holds only the SHA-256 of each token; a request's token is hashed and
 * compared with every configured hash in constant time, so that neither the comparison nor the
 * config reveals a token. Roles: viewer (read) and operator (read and act).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export type Role = 'viewer' | 'operator';

export interface TokenEntry {
  readonly name: string;
  readonly role: Role;
  readonly sha256: string;
}

export type AuthResult = { ok: true; name: string; role: Role } | { ok: false };

export function authenticate(req: IncomingMessage, tokens: readonly TokenEntry[]): AuthResult {
  const header = req.headers.authorization;
  const m = typeof header === 'string' ? /^Bearer ([\x21-\x7e]{1,512})$/.exec(header) : null;
  if (!m) return { ok: false };
  const digest = createHash('sha256').update(m[1]!).digest();
  let found: TokenEntry | undefined;
  for (const t of tokens) {
    // Every entry is compared, match or not, so timing does not tell which one matched.
    if (timingSafeEqual(digest, Buffer.from(t.sha256, 'hex')) && !found) found = t;
  }
  return found ? { ok: true, name: found.name, role: found.role } : { ok: false };
}

export function allows(role: Role, needed: Role): boolean {
  return needed === 'viewer' || role === 'operator';
}
