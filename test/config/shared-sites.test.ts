import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/crypto/keys.ts';
import { parseConfig } from '../../src/config/load.ts';
import { sitesSharingFailures } from '../../src/config/shared-sites.ts';

const recipient = generateIdentity().recipient;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifeboat-site-disks-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function load(sites: Record<string, string>, jobs: string): ReturnType<typeof parseConfig> {
  const siteLines = Object.entries(sites).map(([name, path]) => `  ${name}: ${path.startsWith('{') ? path : `{ type: fs, path: "${path}" }`}\n`);
  const text = `encryption:\n  recipients: [${recipient}]\nsites:\n${siteLines.join('')}${jobs}`;
  return parseConfig(text, join(dir, 'lifeboat.yaml'), { env: {} });
}

describe('sites that one failure takes together', () => {
  it('warns of two folders on one disk that a job counts as two copies, naming the jobs', async () => {
    // The folders do not exist yet: their nearest existing parent tells the filesystem.
    const cfg = load(
      { a: './a', b: './not/yet/b', c: './c' },
      'jobs:\n  docs:\n    source: { type: files, paths: [./data] }\n    sites: [a, b]\n  logs:\n    source: { type: files, paths: [./logs] }\n    sites: [b, a]\n  one:\n    source: { type: files, paths: [./one] }\n    sites: [c]\n',
    );
    expect(await sitesSharingFailures(cfg)).toEqual([
      'sites "a" and "b" are folders on one filesystem, which job(s) docs, logs count as two copies: one disk or host failure loses both; put them on different disks or hosts, or use S3 sites',
    ]);
  });

  const otherDisk = existsSync('/dev/shm') && statSync('/dev/shm').dev !== statSync(tmpdir()).dev;
  it.runIf(otherDisk)('says nothing of sites on different filesystems', async () => {
    const cfg = load({ a: './a', b: '/dev/shm/lifeboat-site-disks-test' }, 'jobs:\n  docs:\n    source: { type: files, paths: [./data] }\n');
    expect(await sitesSharingFailures(cfg)).toEqual([]);
  });

  it('warns of two prefixes of one bucket, not of two buckets', async () => {
    const s3 = (bucket: string, prefix: string): string => `{ type: s3, endpoint: "https://s3.example.net", region: r, bucket: ${bucket}, prefix: "${prefix}" }`;
    const cfg = load({ x: s3('backups', 'x/'), y: s3('backups', 'y/'), z: s3('other', 'x/') }, 'jobs:\n  docs:\n    source: { type: files, paths: [./data] }\n');
    expect(await sitesSharingFailures(cfg)).toEqual([
      'sites "x" and "y" are prefixes of one bucket (backups), which job(s) docs count as two copies: losing the bucket or its account loses both; use separate buckets, ideally with separate providers or regions',
    ]);
  });
});
