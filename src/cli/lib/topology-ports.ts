/**
 * Ports of a local topology, chosen at create: the Redis nodes' (below 32768, each with its cluster
 * bus port, port + 10000, free too), and the listeners' (a port 0 becomes a free port, so every
 * frontend and every restart of the topology serves the same one).
 */
import { createServer } from 'node:net';
import type { ListenerProperties } from '../../config/types.js';
import { OpsError } from '../../shared/errors.js';
import { portInUse } from './port-free.js';

/** A free port the OS picks on `host` (bound and released at once). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** `count` consecutive ports in 10000-22767 whose ports and bus ports (+10000) are free now. */
export async function freeRedisPorts(count: number): Promise<number[]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 10000 + Math.floor(Math.random() * (12768 - count));
    const ports = Array.from({ length: count }, (_, i) => base + i);
    const busy = await Promise.all(ports.flatMap((port) => [portInUse('127.0.0.1', port), portInUse('127.0.0.1', port + 10000)]));
    if (!busy.some(Boolean)) return ports;
  }
  throw new OpsError('INST_TOPOLOGY_FAILED', { reason: `no ${count} consecutive free ports (and bus ports) found in 10000-22767` });
}

/** `listeners` with every port 0 replaced by a free port of `host`. */
export async function concreteListenerPorts(listeners: Record<string, ListenerProperties>, host: string): Promise<Record<string, ListenerProperties>> {
  const out: Record<string, ListenerProperties> = {};
  for (const [name, listener] of Object.entries(listeners)) {
    const ports = [];
    for (const p of listener.ports) ports.push(p.port === 0 ? { ...p, port: await freePort(host) } : p);
    out[name] = { ...listener, ports };
  }
  return out;
}
