// runbooks/restore-without-lifeboat.md, exercised against a real S3 site: find the newest committed
// snapshot with rclone, check its SHA-256 against the manifest, and restore it with stock age, zstd
// and tar — no Lifeboat involved.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../../src/operations/backup.ts';
import type { Context } from '../../src/operations/context.ts';
import { workspace, type Workspace } from '../helpers/fixture.ts';
import { createBucket, dropBucket, s3Env } from '../helpers/s3.ts';
import { execFileP } from '../helpers/streams.ts';
import { describeTree, makeOddTree } from '../helpers/tree.ts';

const env = s3Env();
let ws: Workspace;
let ctx: Context;
let bucket: string;
// rclone configured through its environment, as an operator would on a bare host.
const rcloneEnv: NodeJS.ProcessEnv = {
  ...process.env,
  RCLONE_CONFIG_SITE_TYPE: 's3',
  RCLONE_CONFIG_SITE_PROVIDER: 'Ceph',
  RCLONE_CONFIG_SITE_ENDPOINT: env.endpoints[0],
  RCLONE_CONFIG_SITE_ACCESS_KEY_ID: env.accessKeyId,
  RCLONE_CONFIG_SITE_SECRET_ACCESS_KEY: env.secretAccessKey,
};
delete rcloneEnv.AWS_CA_BUNDLE; // some machines set it, and rclone then refuses plain http

beforeAll(async () => {
  ws = await workspace();
  await makeOddTree(join(ws.dir, 'data'));
  bucket = await createBucket(env.endpoints[0]!);
  ctx = await ws.context(
    `sites:\n  s3: { type: s3, endpoint: "${env.endpoints[0]}", bucket: ${bucket}, prefix: lifeboat, forcePathStyle: true, accessKeyId: "\${env:LB_KEY}", secretAccessKey: "\${env:LB_SECRET}" }\njobs:\n  docs:\n    source: { type: files, paths: [./data] }\n`,
    { ...process.env, LB_KEY: env.accessKeyId, LB_SECRET: env.secretAccessKey },
  );
});
afterAll(async () => {
  ctx?.close();
  await dropBucket(env.endpoints[0]!, bucket).catch(() => {});
  await ws?.cleanup();
});

describe('restore without Lifeboat, from S3', () => {
  it('rclone + sha256 + age + zstd + tar give back the same tree', async () => {
    expect((await backup(ctx, 'docs')).ok).toBe(true);
    const root = `site:${bucket}/lifeboat/jobs/docs/snapshots/`;
    const listed = (await execFileP('rclone', ['lsf', '-R', root], { env: rcloneEnv })).stdout.split('\n').filter(Boolean);
    const id = listed.filter((k) => k.endsWith('/manifest.json')).map((k) => k.split('/')[0]!).sort().pop()!;
    const manifest = JSON.parse((await execFileP('rclone', ['cat', `${root}${id}/manifest.json`], { env: rcloneEnv })).stdout) as { payload: { key: string; ciphertext: { sha256: string } } };
    const payload = join(ws.dir, 'payload.tar.zst.age');
    await execFileP('rclone', ['copyto', `site:${bucket}/lifeboat/${manifest.payload.key}`, payload], { env: rcloneEnv });
    const sha = (await execFileP('sha256sum', [payload])).stdout.split(' ')[0];
    expect(sha).toBe(manifest.payload.ciphertext.sha256);
    const target = join(ws.dir, 'restored');
    await mkdir(target);
    await execFileP('sh', ['-c', `age -d -i "${ws.identityFile}" "${payload}" | zstd -d | tar -xpf - -C "${target}"`]);
    expect(await describeTree(target)).toEqual(await describeTree(join(ws.dir, 'data')));
  });
});
