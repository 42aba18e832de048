// aedes 1.x (in-memory persistence, default options), started by bench/run.mjs
// as its own process. Prints {"port":N} on stdout once listening; closes on SIGTERM.
import net from 'node:net';
import { Aedes } from 'aedes';
import { serveControl, gcNow, onTerminate } from './control.mjs';

const aedes = await Aedes.createBroker();
const server = net.createServer(aedes.handle);
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(0, '127.0.0.1', resolve);
});
const { port } = server.address();
serveControl({
  gc: gcNow,
  stats: () => ({ connectedClients: aedes.connectedClients }),
});
onTerminate(async () => {
  await new Promise((resolve) => aedes.close(() => resolve()));
  await new Promise((resolve) => server.close(() => resolve()));
});
process.stdout.write(JSON.stringify({ port }) + '\n');
