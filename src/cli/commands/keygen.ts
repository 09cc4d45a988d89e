/**
 * `lifeboat keygen`: a new age identity in the standard format (`age-keygen` reads and writes the
 * same files), or with --signing an Ed25519 signing key. With -o the file is created with mode 0600
 * and never overwritten.
 */
import type { Command } from 'commander';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { generateIdentity, parseIdentityFile } from '../../crypto/keys.ts';
import { generateSigningKey, parseSigningKey } from '../../crypto/signing.ts';
import { LifeboatError } from '../../errors.ts';
import type { Out } from '../output.ts';

interface Opts {
  output?: string;
  signing?: boolean;
  recipientsFile?: string;
  ifMissing?: boolean;
  json?: boolean;
}

export function register(program: Command, run: (fn: (out: Out) => Promise<number>) => Promise<void>): void {
  program
    .command('keygen')
    .description('create an age identity (private key) and print its recipient (public key)')
    .option('-o, --output <file>', 'write the identity to this file (mode 0600, never overwritten); without it the identity, a secret, is printed on stdout as age-keygen does')
    .option('-R, --recipients-file <file>', 'also write the recipient to this file (for encryption.recipientsFile)')
    .option('--if-missing', 'keep an existing identity file and just print its recipient')
    .option('--signing', 'create an Ed25519 signing key (signing.keyFile) instead, and print its public key (for signing.publicKeys)')
    .option('--json', 'machine-readable output')
    .action((o: Opts) =>
      run(async (out) => {
        if (o.signing) return signingKey(o, out);
        if (!o.output) {
          if (o.recipientsFile || o.ifMissing) throw new LifeboatError('USAGE', '--recipients-file and --if-missing need -o FILE');
          const id = generateIdentity();
          process.stdout.write(id.text);
          out.info(`Public key: ${id.recipient}`);
          return 0;
        }
        let recipient: string;
        const existing = await readIfExists(o.output);
        if (existing !== undefined) {
          if (!o.ifMissing) throw new LifeboatError('USAGE', `${o.output} already exists; refusing to overwrite an identity (use --if-missing to keep it)`);
          recipient = parseIdentityFile(existing, o.output)[0]!.recipient.text;
        } else {
          const id = generateIdentity();
          await writePrivate(o.output, id.text);
          recipient = id.recipient;
        }
        if (o.recipientsFile) {
          await mkdir(dirname(o.recipientsFile), { recursive: true });
          await writeFile(o.recipientsFile, `${recipient}\n`);
        }
        out.result(recipient, { identityFile: o.output, recipient });
        return 0;
      }),
    );
}

/** `keygen --signing`: a PKCS#8 PEM Ed25519 key (mode 0600, never overwritten) and its public key. */
async function signingKey(o: Opts, out: Out): Promise<number> {
  if (o.recipientsFile) throw new LifeboatError('USAGE', '--recipients-file is for age identities, not signing keys');
  if (!o.output) {
    const k = generateSigningKey();
    process.stdout.write(k.pem);
    out.info(`Public key: ${k.publicKey}`);
    return 0;
  }
  const existing = await readIfExists(o.output);
  let publicKey: string;
  if (existing !== undefined) {
    if (!o.ifMissing) throw new LifeboatError('USAGE', `${o.output} already exists; refusing to overwrite a signing key (use --if-missing to keep it)`);
    try {
      publicKey = parseSigningKey(existing).publicKey;
    } catch (err) {
      throw new LifeboatError('USAGE', `${o.output} ${(err as Error).message}`);
    }
  } else {
    const k = generateSigningKey();
    await writePrivate(o.output, k.pem);
    publicKey = k.publicKey;
  }
  out.result(publicKey, { keyFile: o.output, publicKey });
  return 0;
}

function readIfExists(file: string): Promise<string | undefined> {
  return readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new LifeboatError('USAGE', `cannot read ${file}: ${err.message}`);
  });
}

/** A new private key file: mode 0600, never replacing an existing file. */
async function writePrivate(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, text, { mode: 0o600, flag: 'wx' });
  await chmod(file, 0o600);
}
