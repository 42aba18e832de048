// Shared by the aedes server scripts (aedes.mjs, aedes-redis.mjs): serves a created aedes broker on a
// free port of 127.0.0.1 with the harness's control channel (gc, stats), closes it on SIGTERM, and
// prints {"port":N} on stdout once listening.
import net from 'node:net';
import { serveControl, gcNow, onTerminate } from './control.mjs';

export async function serveAedes(aedes) {
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
  // onTerminate exits once this resolves (open Redis connections of aedes-redis would keep the process alive).
  onTerminate(async () => {
    await new Promise((resolve) => aedes.close(() => resolve()));
    await new Promise((resolve) => server.close(() => resolve()));
  });
  process.stdout.write(JSON.stringify({ port }) + '\n');
}
