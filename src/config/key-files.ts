/**
 * Private keys that other users of the host can read or replace: the age identity (every
 * snapshot's plaintext) and the signing key (forged manifests). Reported as warnings, not errors,
 * since some platforms mount secrets readable by a group by default (Kubernetes: 0644), but an
 * operator should hear it, as ssh says of an unprotected private key.
 */
import { stat } from 'node:fs/promises';
import type { Config } from './model.ts';

export async function exposedKeyFiles(config: Config): Promise<string[]> {
  const files: [string, string | undefined][] = [
    ['encryption.identityFile', config.encryption.identityFile],
    ['signing.keyFile', config.signing.keyFile],
  ];
  const warnings: string[] = [];
  for (const [key, path] of files) {
    if (path === undefined) continue;
    const st = await stat(path).catch(() => undefined);
    if (!st || (st.mode & 0o077) === 0) continue;
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    warnings.push(`${key} ${path} has mode ${mode}: other users of this host can read or change this private key; chmod 600 it (or 400), owned by the user Lifeboat runs as`);
  }
  return warnings;
}
