// ops-broker (ours) serving MQTT over TLS, started by bench/lib/tls-scenarios.mjs as its own process.
// BENCH_TLS_CERT / BENCH_TLS_KEY: PEM files. TLS server options are the ones the broker's listener
// ports use (dist/server/tls-options.js). Prints {"port":N} once listening; closes on SIGTERM.
// BENCH_OURS_DIST=<dir> loads the broker from that dist/ instead of this repository's (baseline builds).
import fs from 'node:fs';
import tls from 'node:tls';
import { serveControl, gcNow, onTerminate } from './control.mjs';
import { importDist } from './dist.mjs';

const { createBroker } = await importDist('index.js');
const { tlsServerOptions } = await importDist('server/tls-options.js');

const b = createBroker({ sysIntervalSeconds: 0 });
await b.ready;
const server = tls.createServer(
  tlsServerOptions({ cert: fs.readFileSync(process.env.BENCH_TLS_CERT), key: fs.readFileSync(process.env.BENCH_TLS_KEY) }),
  (socket) => b.attach(socket, { info: { remoteAddress: socket.remoteAddress } }),
);
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
serveControl({ gc: gcNow, stats: () => b.stats() });
onTerminate(async () => {
  server.close();
  await b.close();
});
process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
