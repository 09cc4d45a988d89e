/**
 * `lifeboat keygen`: a new age identity in the standard format (`age-keygen` reads and writes the
 * same files). With -o the file is created with mode 0600 and never overwritten.
 */
import type { Command } from 'commander';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { generateIdentity, parseIdentityFile } from '../../crypto/keys.ts';
import { LifeboatError } from '../../errors.ts';
import type { Out } from '../output.ts';

interface Opts {
  output?: string;
  recipientsFile?: string;
  ifMissing?: boolean;
  json?: boolean;
}

export function register(program: Command, run: (fn: (out: Out) => Promise<number>) => Promise<void>): void {
  program
    .command('keygen')
    .description('create an age identity (private key) and print its recipient (public key)')
    .option('-o, --output <file>', 'write the identity to this file (mode 0600) instead of stdout')
    .option('-R, --recipients-file <file>', 'also write the recipient to this file (for encryption.recipientsFile)')
    .option('--if-missing', 'keep an existing identity file and just print its recipient')
    .option('--json', 'machine-readable output')
    .action((o: Opts) =>
      run(async (out) => {
        if (!o.output) {
          if (o.recipientsFile || o.ifMissing) throw new LifeboatError('USAGE', '--recipients-file and --if-missing need -o FILE');
          const id = generateIdentity();
          process.stdout.write(id.text);
          out.info(`Public key: ${id.recipient}`);
          return 0;
        }
        let recipient: string;
        const existing = await readFile(o.output, 'utf8').catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') return undefined;
          throw new LifeboatError('USAGE', `cannot read ${o.output}: ${err.message}`);
        });
        if (existing !== undefined) {
          if (!o.ifMissing) throw new LifeboatError('USAGE', `${o.output} already exists; refusing to overwrite an identity (use --if-missing to keep it)`);
          recipient = parseIdentityFile(existing, o.output)[0]!.recipient.text;
        } else {
          const id = generateIdentity();
          await mkdir(dirname(o.output), { recursive: true });
          await writeFile(o.output, id.text, { mode: 0o600, flag: 'wx' });
          await chmod(o.output, 0o600);
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
