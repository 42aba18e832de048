// ops-broker (ours), started by bench/run.mjs as its own process.
// Prints {"port":N} on stdout once listening; closes on SIGTERM.
// BENCH_OURS_OPTIONS='{"v3InflightLimit":1000}' merges extra createBroker options (for experiments).
import { createBroker } from '../../dist/index.js';
import { serveControl, gcNow, onTerminate } from './control.mjs';

const extra = process.env.BENCH_OURS_OPTIONS ? JSON.parse(process.env.BENCH_OURS_OPTIONS) : {};
const b = createBroker({ sysIntervalSeconds: 0, ...extra });
const { port } = await b.listen({ port: 0, host: '127.0.0.1' });
serveControl({ gc: gcNow, stats: () => b.stats() });
onTerminate(() => b.close());
process.stdout.write(JSON.stringify({ port }) + '\n');
