/**
 * Prometheus endpoint on `diagnostics.metrics.prometheusPort` (local only, 127.0.0.1): the same
 * figures as `ops broker stats`, in the text exposition format at `/metrics`.
 */
import { createServer, type Server } from 'node:http';

/** One metric sample. */
export interface MetricSample {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter';
  readonly value: number;
}

/** Renders samples in the Prometheus text format. */
export function renderMetrics(samples: readonly MetricSample[]): string {
  return samples.map((s) => `# HELP ${s.name} ${s.help}\n# TYPE ${s.name} ${s.type}\n${s.name} ${s.value}\n`).join('');
}

/** A running metrics endpoint. */
export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves `collect()` at `http://127.0.0.1:<port>/metrics`. */
export async function startMetricsServer(port: number, collect: () => Promise<readonly MetricSample[]>): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && req.url !== '/')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; try /metrics\n');
      return;
    }
    collect().then(
      (samples) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(renderMetrics(samples)),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // exclusive: a frontend of a local topology (a cluster worker) binds its own port, not its supervisor's.
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
