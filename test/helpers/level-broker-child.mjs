// A broker on a LevelBrokerStore in its own process, for kill -9 tests. Runs from the built dist/.
// Usage: node level-broker-child.mjs <store dir> [hex key]. Prints {"port":N} once listening.
// OPS_TEST_SEGMENT_REWRITE_MS=<ms>: looks for sparse queue segments that often, and prints
// {"rewrittenSegments":N} each time segment compaction has moved more segments.
// OPS_TEST_BROKER_OPTIONS=<json>: more createBroker options (e.g. connectionLimits) for abuse tests.
import { createBroker } from '../../dist/broker/broker.js';
import { LevelBrokerStore } from '../../dist/storage/level-broker-store.js';

const [path, keyHex] = process.argv.slice(2);
try {
  const rewriteMs = Number(process.env.OPS_TEST_SEGMENT_REWRITE_MS ?? 0);
  const store = await LevelBrokerStore.open({
    path,
    ...(keyHex ? { encryptionKey: Buffer.from(keyHex, 'hex') } : {}),
    ...(rewriteMs > 0 ? { segmentRewrite: { intervalMs: rewriteMs } } : {}),
  });
  const extra = JSON.parse(process.env.OPS_TEST_BROKER_OPTIONS ?? '{}');
  const broker = createBroker({ store, sysIntervalSeconds: 0, ...extra });
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
