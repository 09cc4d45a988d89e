/** Which config file a command uses: `-c FILE`, else ./lifeboat.yaml, else config/lifeboat.yaml. */
import { existsSync } from 'node:fs';
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/model.ts';
import { LifeboatError } from '../errors.ts';

export function configPath(given: string | undefined): string {
  if (given !== undefined) return given;
  for (const candidate of ['lifeboat.yaml', 'config/lifeboat.yaml']) if (existsSync(candidate)) return candidate;
  throw new LifeboatError('USAGE', 'no config file: pass -c FILE (looked for ./lifeboat.yaml and config/lifeboat.yaml)');
}

export function load(given: string | undefined): Promise<Config> {
  return loadConfig(configPath(given));
}
