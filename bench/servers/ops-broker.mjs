// ops-broker (ours), started by bench/run.mjs as its own process.
// Prints {"port":N, ...timings} on stdout once listening; closes on SIGTERM.
// BENCH_OURS_OPTIONS='{"v3InflightLimit":1000}' merges extra createBroker options (for experiments).
// BENCH_OURS_STORE=<dir> runs on a durable LevelBrokerStore in <dir> (scenarios e, f);
// BENCH_OURS_STORE_KEY=<64 hex chars> turns its AES-256-GCM encryption on (absent: Disabled).
// BENCH_OURS_STATE_STORE=1 starts the state store service (scenario g; keys in memory).
// BENCH_OURS_DIST=<dir> loads the broker from that dist/ instead of this repository's (baseline builds).
import { performance } from 'node:perf_hooks';
import { serveControl, gcNow, onTerminate } from './control.mjs';
import { importDist } from './dist.mjs';

const { createBroker } = await importDist('index.js');

const extra = process.env.BENCH_OURS_OPTIONS ? JSON.parse(process.env.BENCH_OURS_OPTIONS) : {};
const storePath = process.env.BENCH_OURS_STORE || null;
const keyHex = process.env.BENCH_OURS_STORE_KEY || null;

// Timings (ms since this process started): module loading, store open, restore + listen.
const tImported = performance.now();
let store;
let tOpened = tImported;
if (storePath) {
  const { LevelBrokerStore } = await importDist('storage/level/level-broker-store.js', 'storage/level-broker-store.js');
  store = await LevelBrokerStore.open({ path: storePath, ...(keyHex ? { encryptionKey: Buffer.from(keyHex, 'hex') } : {}) });
  tOpened = performance.now();
}
const b = createBroker({ sysIntervalSeconds: 0, ...(store ? { store } : {}), ...extra });
const { port } = await b.listen({ port: 0, host: '127.0.0.1' });
if (process.env.BENCH_OURS_STATE_STORE === '1') {
  const { startStateStore } = await importDist('services/state-store/state-store-service.js');
  const stateStore = startStateStore(b);
  await stateStore.ready;
}
const tReady = performance.now();
serveControl({
  gc: gcNow,
  stats: () => {
    const s = b.stats();
    if (!store) return s;
    return { ...s, store: { encryption: store.encryption, commit: store.commitStats } };
  },
});
onTerminate(() => b.close());
process.stdout.write(
  JSON.stringify({
    port,
    startup: {
      importMs: Math.round(tImported),
      storeOpenMs: Math.round(tOpened - tImported),
      restoreAndListenMs: Math.round(tReady - tOpened),
      totalMs: Math.round(tReady),
    },
  }) + '\n',
);
