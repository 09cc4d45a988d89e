import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real servers (Ceph, PostgreSQL scratch databases); give them room,
    // but every test still ends by itself.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    globalSetup: ['test/setup/bundle.ts', 'test/setup/s3.ts'],
  },
});
