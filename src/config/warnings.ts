/** What a valid config still should not do, said by `config check` and at the daemon's start. */
import type { Config } from './model.ts';
import { exposedKeyFiles } from './key-files.ts';
import { plainHttpSites } from './plain-http.ts';
import { sitesSharingFailures } from './shared-sites.ts';

export async function configWarnings(config: Config): Promise<string[]> {
  return [...(await exposedKeyFiles(config)), ...(await sitesSharingFailures(config)), ...plainHttpSites(config)];
}
