import { defineConfig } from 'vitest/config';

/**
 * Files that measure time (stalls, deadlines, elapsed bounds, lease and failover windows) or load the
 * machine on their own (kill -9 mid-load, whole Redis Clusters with frontend processes): they run one
 * at a time, after the rest, so that no other file competes with them for the cores.
 */
const TIMING_SENSITIVE = [
  'test/adversarial/**/*.test.ts',
  'test/e2e/cluster-*.test.ts',
  'test/e2e/ops-ctrl-c.test.ts',
  'test/e2e/ops-state-refused.test.ts',
  'test/e2e/topology-*.test.ts',
  'test/integration/cluster/backend-failover.test.ts',
  'test/integration/cluster/leader-lease.test.ts',
  'test/integration/cluster/state-store.test.ts',
  'test/integration/redis/cluster-client.test.ts',
  'test/integration/redis/cluster-client-failover.test.ts',
  'test/contract/redis-cluster-broker-store.test.ts',
  'test/integration/broker/abuse-limits.test.ts',
  'test/integration/broker/connect.test.ts',
  'test/integration/broker/wills.test.ts',
  'test/integration/security/custom-authn.test.ts',
  'test/integration/state-store/notify-lease.test.ts',
  'test/integration/storage/level-kill.test.ts',
  'test/unit/storage/redis/node-connection.test.ts',
];

export default defineConfig({
  test: {
    // Each project names its files (an `include` here would be merged into the timing project's).
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    reporters: ['default'],
    projects: [
      {
        extends: true,
        // Two files at a time (vitest's default is one worker fewer than the cores: 1 on CI's 2).
        test: { name: 'parallel', include: ['test/**/*.test.ts'], exclude: TIMING_SENSITIVE, maxWorkers: 2, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'timing', include: TIMING_SENSITIVE, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
