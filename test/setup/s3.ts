/**
 * Global test setup: one real S3 service for the whole run. By default a Ceph cluster with two
 * gateways (two independent sites); with LIFEBOAT_TEST_S3_ENDPOINTS (comma-separated) and
 * LIFEBOAT_TEST_S3_ACCESS_KEY / LIFEBOAT_TEST_S3_SECRET_KEY the same tests run against any
 * S3-compatible store instead (tests that kill a gateway are then skipped).
 */
import type { TestProject } from 'vitest/node';
import { ACCESS_KEY, CephCluster, SECRET_KEY } from '../helpers/ceph.ts';

export interface S3TestEnv {
  endpoints: string[];
  accessKeyId: string;
  secretAccessKey: string;
  /** The Ceph cluster's folder when the harness started one: tests may add gateways to it. */
  cephDir?: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    s3: S3TestEnv;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.LIFEBOAT_TEST_S3_ENDPOINTS;
  if (external) {
    project.provide('s3', {
      endpoints: external.split(','),
      accessKeyId: process.env.LIFEBOAT_TEST_S3_ACCESS_KEY ?? '',
      secretAccessKey: process.env.LIFEBOAT_TEST_S3_SECRET_KEY ?? '',
    });
    return async () => {};
  }
  const cluster = await CephCluster.start(2);
  project.provide('s3', {
    endpoints: [...cluster.gateways.values()].map((g) => g.endpoint),
    accessKeyId: ACCESS_KEY,
    secretAccessKey: SECRET_KEY,
    cephDir: cluster.dir,
  });
  return () => cluster.stop();
}
