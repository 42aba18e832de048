// A broker on a LevelBrokerStore in its own process, for kill -9 tests. Runs from the built dist/.
// Usage: node level-broker-child.mjs <store dir> [hex key]. Prints {"port":N} once listening.
// OPS_TEST_SEGMENT_REWRITE_MS=<ms>: looks for sparse queue segments that often, and prints
// {"rewrittenSegments":N} each time segment compaction has moved more segments.
// OPS_TEST_SYS_INTERVAL_S=<s>: publishes the $SYS topics that often (figures such as
// $SYS/broker/errors/contained for tests that cannot reach the process otherwise).
// OPS_TEST_STATE_STORE=1: runs the state store service on the broker.
// OPS_TEST_LOG_ERRORS=1: the broker's error lines (contained internal errors) go to stderr as JSON.
// No uncaughtException/unhandledRejection handler: an error escaping the broker ends the process
// (Node's default), which the adversarial tests observe.
// OPS_TEST_BROKER_OPTIONS=<json>: more createBroker options (e.g. connectionLimits) for abuse tests.
import { createBroker } from '../../dist/broker/broker.js';
import { startStateStore } from '../../dist/services/state-store/state-store-service.js';
import { LevelBrokerStore } from '../../dist/storage/level/level-broker-store.js';

const [path, keyHex] = process.argv.slice(2);
try {
  const rewriteMs = Number(process.env.OPS_TEST_SEGMENT_REWRITE_MS ?? 0);
  const store = await LevelBrokerStore.open({
    path,
    ...(keyHex ? { encryptionKey: Buffer.from(keyHex, 'hex') } : {}),
    ...(rewriteMs > 0 ? { segmentRewrite: { intervalMs: rewriteMs } } : {}),
  });
  const ignore = () => undefined;
  const logger =
    process.env.OPS_TEST_LOG_ERRORS === '1'
      ? { debug: ignore, info: ignore, warn: ignore, error: (fields, message) => process.stderr.write(`${JSON.stringify({ message, ...fields })}\n`) }
      : undefined;
  const extra = JSON.parse(process.env.OPS_TEST_BROKER_OPTIONS ?? '{}');
  const broker = createBroker({ store, sysIntervalSeconds: Number(process.env.OPS_TEST_SYS_INTERVAL_S ?? 0), ...(logger ? { logger } : {}), ...extra });
  if (process.env.OPS_TEST_STATE_STORE === '1') await startStateStore(broker).ready;
  const { port } = await broker.listen({ port: 0, host: '127.0.0.1' });
  process.stdout.write(`${JSON.stringify({ port })}\n`);
  if (rewriteMs > 0) {
    let reported = 0;
    setInterval(() => {
      const { segments } = store.segmentRewriteStats;
      if (segments === reported) return;
      reported = segments;
      process.stdout.write(`${JSON.stringify({ rewrittenSegments: segments })}\n`);
    }, rewriteMs).unref();
  }
} catch (error) {
  process.stderr.write(`${error?.code ?? 'ERROR'} ${error?.message ?? String(error)}\n`);
  process.exit(1);
}
