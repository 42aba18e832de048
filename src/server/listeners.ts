/**
 * The broker's listener ports: one server per served port of each stored listener, each handing
 * its connections (TCP, TLS, or WebSocket streams over either) to `broker.attach`. `sync` opens and
 * closes ports live to match the stored listeners; ports it cannot serve are reported as skipped.
 *
 * TLS: `mode: Manual` reads the Kubernetes-style secret `<instance>/secrets/<secretRef>/tls.crt` and
 * `tls.key` when the port opens. `mode: Automatic` stands in for cert-manager: a certificate issued
 * by the instance CA (`secrets/ca/ca.crt`) in `secrets/<secretName or auto-<listener>-<port>>/`
 * (made once, reused, re-issued when its SANs change or it nears expiry).
 * TLS ports ask clients for a certificate without requiring one (clients without one still connect,
 * for other authentication methods) and without verifying it (the X509 method does, against its
 * own trusted CA): the presented chain travels to the engine in `PortOrigin.clientCertificate`.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer, type DetailedPeerCertificate, type TLSSocket } from 'node:tls';
import type { ConnectionInfo } from '../broker/hooks.js';
import type { ListenerPort, ListenerProperties } from '../config/types.js';
import type { OpenPort } from '../instance/status-file.js';
import { findTlsSecret, secretFolder } from '../instance/secret-folder.js';
import { OpsError, reasonOf } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { ensureSelfSigned, type SelfSignedSpec } from './self-signed.js';
import { tlsServerOptions } from './tls-options.js';
import { acceptWebSocket } from './websocket.js';

/** A stored port the broker does not serve, and why. */
export interface SkippedPort {
  readonly listener: string;
  readonly port: number;
  readonly reason: string;
}

/** Where a connection came in: the listener and its configured port number. */
export interface PortOrigin {
  readonly listener: string;
  readonly port: number;
  readonly remoteAddress: string | undefined;
  /** The TLS client certificate the client presented (unverified), if any. */
  readonly clientCertificate?: ConnectionInfo['clientCertificate'];
}

/** A TLS secret a port names, and the config field that named it. */
interface TlsSecret {
  readonly name: string;
  readonly field: string;
}

/** Transport of a port. */
type Protocol = 'Mqtt' | 'WebSockets';

/** What one served port needs. */
interface Want {
  readonly listener: string;
  readonly port: number;
  readonly protocol: Protocol;
  /** TLS secret name, if the port uses TLS. */
  readonly secret: string | undefined;
  /** The secret's folder (checked to be inside the secrets folder), if the port uses TLS. */
  readonly secretDir?: string;
}

interface Open extends Want {
  readonly server: Server;
  readonly sockets: Set<Socket>;
  readonly actualPort: number;
  /** Set when the port is being closed: a connection whose TLS handshake ends after that is destroyed at once. */
  readonly closing: { value: boolean };
}

/** Opens and closes listener ports to match the stored listeners. */
export class ListenerManager {
  readonly #open = new Map<string, Open>();
  #skipped: SkippedPort[] = [];

  /**
   * @param secretsDir folder of Manual TLS secrets (`<secretRef>/tls.crt`, `<secretRef>/tls.key`).
   */
  constructor(
    private readonly host: string,
    private readonly attach: (stream: Duplex, origin: PortOrigin) => void,
    private readonly logger: Logger,
    private readonly secretsDir: string,
  ) {}

  /** Ports open now. */
  openPorts(): OpenPort[] {
    return [...this.#open.values()].map((o) => ({
      listener: o.listener,
      configuredPort: o.port,
      port: o.actualPort,
      host: this.host,
      ...(o.protocol === 'WebSockets' ? { protocol: o.protocol } : {}),
      ...(o.secret !== undefined ? { tls: true as const } : {}),
    }));
  }

  /** Stored ports not served. */
  skippedPorts(): SkippedPort[] {
    return [...this.#skipped];
  }

  /** The folder of a TLS secret, or why its name may not be one (see instance/secret-folder.ts). */
  #secretFolder(secret: TlsSecret): string | { problem: string } {
    try {
      return secretFolder(this.secretsDir, secret.name, secret.field);
    } catch (err) {
      return { problem: reasonOf(err) };
    }
  }

  /** The secret a TLS port uses: `manual.secretRef`, or for Automatic the spec's secretName or `auto-<listener>-<port>`. */
  #secretOf(name: string, port: ListenerPort): TlsSecret | undefined {
    const tls = port.tls;
    if (!tls) return undefined;
    if (tls.mode === 'Manual') return tls.manual === undefined ? undefined : { name: tls.manual.secretRef, field: 'tls.manual.secretRef' };
    const secretName = tls.certManagerCertificateSpec?.['secretName'];
    return typeof secretName === 'string' ? { name: secretName, field: 'certManagerCertificateSpec.secretName' } : { name: `auto-${name}-${port.port}`, field: 'the listener name' };
  }

  /** Makes (or reuses) the certificate of an Automatic TLS port, issued by the instance CA; returns why it could not. */
  async #prepareAutomatic(name: string, port: ListenerPort): Promise<string | undefined> {
    const secret = this.#secretOf(name, port);
    if (port.tls?.mode !== 'Automatic' || secret === undefined) return undefined;
    const folder = this.#secretFolder(secret);
    if (typeof folder !== 'string') return folder.problem;
    const spec = (port.tls.certManagerCertificateSpec ?? {}) as SelfSignedSpec;
    return ensureSelfSigned(folder, spec).then(
      () => undefined,
      (err: unknown) =>
        err instanceof OpsError && err.code === 'INST_UNSAFE_PATH'
          ? err.message
          : `automatic TLS needs the openssl command to issue a certificate from the instance CA (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`,
    );
  }

  #plan(name: string, port: ListenerPort): Want | string {
    const base = { listener: name, port: port.port, protocol: port.protocol ?? 'Mqtt' } as const;
    if (!port.tls) return { ...base, secret: undefined };
    const secret = this.#secretOf(name, port);
    if (secret === undefined) return 'tls.mode Manual needs manual.secretRef';
    const found = findTlsSecret(this.secretsDir, secret.name, secret.field);
    if ('problem' in found) return found.problem;
    return { ...base, secret: secret.name, secretDir: found.folder };
  }

  /**
   * Makes the open ports match `listeners`. All or nothing: if a new port cannot be opened, the
   * ports opened by this call are closed again and `BRK_LISTEN_FAILED` is thrown.
   */
  async sync(listeners: Readonly<Record<string, ListenerProperties>>): Promise<void> {
    const wanted = new Map<string, Want>();
    const skipped: SkippedPort[] = [];
    for (const [name, props] of Object.entries(listeners)) {
      for (const port of props.ports) {
        const failure = await this.#prepareAutomatic(name, port);
        const plan = failure ?? this.#plan(name, port);
        if (typeof plan === 'string') skipped.push({ listener: name, port: port.port, reason: plan });
        else wanted.set(`${name}:${port.port}:${plan.protocol}:${plan.secret ?? ''}`, plan);
      }
    }
    const opened: string[] = [];
    const replaced: [string, Want][] = [];
    try {
      for (const [key, want] of wanted) {
        if (this.#open.has(key)) continue;
        // A port served with other settings (TLS secret, protocol): its server is closed first, or the
        // new one could not bind (EADDRINUSE). Its clients are disconnected and reconnect to the new one.
        const old = this.#replacedBy(want, wanted);
        if (old !== undefined) {
          replaced.push([old[0], old[1]]);
          await this.#close(old[0]);
        }
        this.#open.set(key, await this.#listen(want));
        opened.push(key);
      }
    } catch (err) {
      await Promise.all(opened.map((key) => this.#close(key)));
      await this.#reopen(replaced);
      throw err;
    }
    await Promise.all([...this.#open.keys()].filter((key) => !wanted.has(key)).map((key) => this.#close(key)));
    this.#skipped = skipped;
    for (const s of skipped) this.logger.warn({ listener: s.listener, port: s.port }, s.reason);
  }

  /**
   * The open port `want` takes over, if any: one no longer wanted with the same listener and
   * configured port, or bound to the port number `want` names.
   */
  #replacedBy(want: Want, wanted: ReadonlyMap<string, Want>): [string, Open] | undefined {
    for (const entry of this.#open) {
      const [key, open] = entry;
      if (wanted.has(key)) continue;
      if ((open.listener === want.listener && open.port === want.port) || (want.port !== 0 && open.actualPort === want.port)) return entry;
    }
    return undefined;
  }

  /** Rollback of a failed sync: serves the replaced ports again as they were (a port that cannot be is logged). */
  async #reopen(replaced: readonly [string, Want][]): Promise<void> {
    for (const [key, want] of replaced) {
      try {
        this.#open.set(key, await this.#listen(want));
      } catch (err) {
        this.logger.error({ listener: want.listener, port: want.port, err: reasonOf(err) }, 'a replaced port could not be served again');
      }
    }
  }

  /** Drops every connection of a listener's port (its security changed); returns how many. */
  dropConnections(listener: string, port: number): number {
    let dropped = 0;
    for (const open of this.#open.values()) {
      if (open.listener !== listener || open.port !== port) continue;
      for (const socket of open.sockets) {
        socket.destroy();
        dropped++;
      }
    }
    return dropped;
  }

  /** Closes every port. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.#open.keys()].map((key) => this.#close(key)));
  }

  async #listen(want: Want): Promise<Open> {
    const sockets = new Set<Socket>();
    const closing = { value: false };
    const onConnection = (socket: Socket): void => {
      if (closing.value) {
        socket.destroy(); // its handshake finished after the port began closing: it would hold server.close() open
        return;
      }
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      const clientCertificate = want.secret === undefined ? undefined : clientCertificateOf(socket as TLSSocket);
      const origin: PortOrigin = { listener: want.listener, port: want.port, remoteAddress: socket.remoteAddress, ...(clientCertificate !== undefined ? { clientCertificate } : {}) };
      if (want.protocol === 'WebSockets') acceptWebSocket(socket, (stream) => this.attach(stream, origin));
      else this.attach(socket, origin);
    };
    const address = `${this.host}:${want.port}`;
    let server: Server;
    if (want.secret === undefined || want.secretDir === undefined) server = createServer(onConnection);
    else {
      const [cert, key] = [join(want.secretDir, 'tls.crt'), join(want.secretDir, 'tls.key')];
      try {
        // requestCert without rejectUnauthorized: ask for a client certificate, verify it in the X509 method
        server = createTlsServer(tlsServerOptions({ cert: readFileSync(cert), key: readFileSync(key) }, { requestCert: true, rejectUnauthorized: false }), onConnection);
      } catch (err) {
        throw new OpsError('BRK_LISTEN_FAILED', { address, reason: `TLS secret '${want.secret}': ${reasonOf(err)}` });
      }
      server.on('tlsClientError', (err) => this.logger.debug({ listener: want.listener, err: err.message }, 'TLS handshake failed'));
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new OpsError('BRK_LISTEN_FAILED', { address, reason: err.code ?? err.message }, { cause: err })),
      );
      server.listen({ port: want.port, host: this.host }, () => resolve());
    });
    server.on('error', (err) => this.logger.error({ listener: want.listener, err: err.message }, 'listener error'));
    const bound = server.address();
    const actualPort = typeof bound === 'object' && bound !== null ? bound.port : want.port;
    this.logger.info({ listener: want.listener, host: this.host, port: actualPort, protocol: want.protocol, tls: want.secret !== undefined }, 'listener open');
    return { ...want, server, sockets, actualPort, closing };
  }

  async #close(key: string): Promise<void> {
    const open = this.#open.get(key);
    if (!open) return;
    this.#open.delete(key);
    open.closing.value = true;
    const closed = new Promise<void>((resolve) => open.server.close(() => resolve()));
    await Promise.all([...open.sockets].map((socket) => destroyAfterFlush(socket)));
    await closed;
    this.logger.info({ listener: open.listener, port: open.actualPort }, 'listener closed');
  }
}

/** How long a socket the engine is ending (its DISCONNECT written) gets to flush before it is destroyed. */
const END_FLUSH_MS = 1000;

/**
 * Destroys a socket; one already ending (the engine wrote its DISCONNECT and called `end`) first gets
 * up to {@link END_FLUSH_MS} to flush, so the client reads why it was closed.
 */
function destroyAfterFlush(socket: Socket): Promise<void> {
  if (!socket.writableEnded || socket.writableFinished || socket.destroyed) {
    socket.destroy();
    return Promise.resolve();
  }
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(done, END_FLUSH_MS);
    socket.once('finish', done);
    socket.once('close', done);
  });
}

/**
 * The certificate chain a TLS client presented (its certificate first, then the issuers TLS linked
 * to it), or undefined without one.
 */
function clientCertificateOf(socket: TLSSocket): ConnectionInfo['clientCertificate'] {
  // Node gives an empty object when the client sent no certificate
  const leaf = socket.getPeerCertificate(true) as Partial<DetailedPeerCertificate>;
  if (leaf.raw === undefined) return undefined;
  const chain: Buffer[] = [];
  const seen = new Set<string>();
  for (let c: Partial<DetailedPeerCertificate> | undefined = leaf; c?.raw !== undefined && !seen.has(c.fingerprint256 ?? ''); c = c.issuerCertificate) {
    seen.add(c.fingerprint256 ?? ''); // a self-signed issuer points at itself
    chain.push(c.raw);
  }
  const subject: Record<string, string> = {};
  for (const [field, value] of Object.entries(leaf.subject ?? {})) {
    const first: unknown = Array.isArray(value) ? value[0] : value;
    if (typeof first === 'string') subject[field] = first;
  }
  return { raw: leaf.raw, chain, subject };
}
