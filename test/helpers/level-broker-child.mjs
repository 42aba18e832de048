// A broker on a LevelBrokerStore in its own process, for kill -9 tests. Runs from the built dist/.
// Usage: node level-broker-child.mjs <store dir> [hex key]. Prints {"port":N} once listening.
import { createBroker } from '../../dist/broker/broker.js';
import { LevelBrokerStore } from '../../dist/storage/level-broker-store.js';

const [path, keyHex] = process.argv.slice(2);
try {
  const store = await LevelBrokerStore.open({ path, ...(keyHex ? { encryptionKey: Buffer.from(keyHex, 'hex') } : {}) });
  const broker = createBroker({ store, sysIntervalSeconds: 0 });
  const { port } = await broker.listen({ port: 0, host: '127.0.0.1' });
  process.stdout.write(`${JSON.stringify({ port })}\n`);
} catch (error) {
  process.stderr.write(`${error?.code ?? 'ERROR'} ${error?.message ?? String(error)}\n`);
  process.exit(1);
}
