import * as path from 'node:path';

export const TEST_IMAGE = 'simlab/busybox:test';
export const SANDBOX_IMAGE = 'simlab/sandbox:bookworm';
export const BUNDLE_PATH = path.join(__dirname, '..', '..', '.data', 'test', 'workflow-bundle.js');

export function testEnv() {
  return {
    databaseUrl: process.env.DATABASE_URL ?? 'postgresql://simlab:simlab@127.0.0.1:5432/simlab_test',
    temporalAddress: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
  };
}
