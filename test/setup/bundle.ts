/**
 * Global test setup: build the bundle (bin/bundle) before any test runs, so that every test that
 * starts `bin/lifeboat` runs what the container image and `npm start` run; tests that import
 * modules run the sources. bin/entry.js would fall back to the sources for a stale bundle anyway.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  execFileSync(process.execPath, [fileURLToPath(new URL('../../bin/bundle', import.meta.url))], { stdio: 'inherit' });
}
