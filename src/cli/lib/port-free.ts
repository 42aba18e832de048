/** Whether a TCP port can be bound, asked before a broker is started on it. */
import { createServer } from 'node:net';

/**
 * True when `host:port` is held by another socket (EADDRINUSE). Binds and closes at once; other
 * failures (EACCES, an address not on this host) are not "in use" and are left to the broker's
 * own listen, which reports them.
 */
export function portInUse(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRINUSE'));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(false)));
  });
}
