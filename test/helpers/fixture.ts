/** A throwaway workspace for operation tests: keys, a config written from YAML, temp folders. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/model.ts';
import { generateIdentity } from '../../src/crypto/keys.ts';
import { Context } from '../../src/operations/context.ts';

export interface Workspace {
  dir: string;
  identityFile: string;
  recipient: string;
  /** Writes lifeboat.yaml with the encryption block filled in, and returns a Context for it. */
  context(yaml: string, env?: NodeJS.ProcessEnv): Promise<Context>;
  config(yaml: string, env?: NodeJS.ProcessEnv): Promise<Config>;
  cleanup(): Promise<void>;
}

export async function workspace(): Promise<Workspace> {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-ws-'));
  const id = generateIdentity();
  const identityFile = join(dir, 'identity.txt');
  await writeFile(identityFile, id.text, { mode: 0o600 });
  const ws: Workspace = {
    dir,
    identityFile,
    recipient: id.recipient,
    async config(yaml, env = process.env) {
      const text = `encryption:\n  recipients: [${id.recipient}]\n  identityFile: ./identity.txt\n${yaml}`;
      const file = join(dir, 'lifeboat.yaml');
      await writeFile(file, text);
      return parseConfig(text, file, { env });
    },
    async context(yaml, env) {
      return new Context(await ws.config(yaml, env));
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
  return ws;
}

/** A workspace with a one-file folder `data/` in it, for files jobs whose contents do not matter. */
export async function workspaceWithData(): Promise<Workspace> {
  const ws = await workspace();
  await mkdir(join(ws.dir, 'data'));
  await writeFile(join(ws.dir, 'data', 'a.txt'), 'a\n');
  return ws;
}
