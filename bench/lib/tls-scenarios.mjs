// (h) MQTT over TLS: the fan-in of scenario (a) (10 publishers -> 1 subscriber, QoS 0, 64 B) over
// TLS, and the TLS connection set-up rate (full handshake + CONNECT/CONNACK, no session resumption).
// The scenario starts its own brokers with TLS (bench/lib/brokers.mjs, start option `tls`): ours
// (bench/servers/ops-broker-tls.mjs, the listener ports' TLS options) and mosquitto (a `listener`
// with cafile/certfile/keyfile); clients are bench/lib/client.mjs RawClients with `tls`. Certificates: an
// ECDSA P-256 CA and a server certificate for 127.0.0.1/localhost, made with openssl in a temp dir.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { RawClient, publishTemplate } from './client.mjs';
import { readCpuSeconds, readMachineBusySeconds, readRss, sleep, trackTemp } from './proc.mjs';

const PAYLOAD_SIZE = 64;
const SETUP_CONNECTIONS = 300;
const SETUP_CONCURRENCY = 20;

let certs = null;

/** CA + server certificate (SANs 127.0.0.1, localhost), once per run. */
function makeCerts() {
  if (certs) return certs;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ops-bench-tls-'));
  trackTemp(dir);
  const f = (n) => path.join(dir, n);
  const ssl = (...args) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 15000 });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ec, '-days', '2', '-subj', '/CN=bench CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign', '-keyout', f('ca.key'), '-out', f('ca.crt'));
  ssl('req', ...ec, '-subj', '/CN=localhost', '-keyout', f('server.key'), '-out', f('server.csr'));
  fs.writeFileSync(f('ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  ssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-set_serial', '1', '-days', '2', '-extfile', f('ext.cnf'), '-out', f('server.crt'));
  // mosquitto drops to its own user when started as root: it must read these.
  fs.chmodSync(dir, 0o755);
  for (const n of ['ca.crt', 'server.crt', 'server.key']) fs.chmodSync(f(n), 0o644);
  certs = { dir, ca: f('ca.crt'), cert: f('server.crt'), key: f('server.key'), caPem: fs.readFileSync(f('ca.crt')) };
  return certs;
}

/** Connection set-up rate: `n` full TLS handshakes + CONNECT/CONNACK, `concurrency` at a time. */
async function setupRate(bp, c, n) {
  let next = 0;
  const clients = [];
  const t0 = performance.now();
  const worker = async () => {
    while (next < n) {
      const cl = new RawClient({ port: bp.port, clientId: `bench-h-setup-${next++}`, tls: { ca: c.caPem } });
      clients.push(cl);
      await cl.connect();
    }
  };
  await Promise.all(Array.from({ length: SETUP_CONCURRENCY }, worker));
  const secs = (performance.now() - t0) / 1000;
  await Promise.all(clients.map((cl) => cl.close(1000).catch(() => cl.destroy())));
  return Math.round(n / secs);
}

function pump(client, topic) {
  const { bytes } = publishTemplate(topic, Buffer.alloc(PAYLOAD_SIZE, 0x61), 0);
  const perChunk = Math.max(1, Math.floor(16384 / bytes.length));
  const chunk = Buffer.concat(new Array(perChunk).fill(bytes));
  const state = { running: true, sent: 0 };
  const sock = client.sock;
  const go = () => {
    if (!state.running || sock.destroyed) return;
    for (let i = 0; i < 8; i++) {
      state.sent += perChunk;
      if (!sock.write(chunk)) return void sock.once('drain', go);
    }
    setImmediate(go);
  };
  go();
  return state;
}

const pct = (x) => Math.round(x * 1000) / 10;

/** Fan-in 10 -> 1 QoS 0 over TLS, measured like scenario (a). */
async function fanIn(bp, c, { warmupMs, durationMs }) {
  const clients = [];
  const errors = [];
  try {
    const sub = new RawClient({ port: bp.port, clientId: 'bench-h-sub', tls: { ca: c.caPem } });
    clients.push(sub);
    await sub.connect();
    await sub.subscribe('bench/h/+', 0);
    let received = 0;
    sub.onPublish = () => received++;
    for (let i = 0; i < 10; i++) {
      const p = new RawClient({ port: bp.port, clientId: `bench-h-pub-${i}`, tls: { ca: c.caPem } });
      clients.push(p);
      await p.connect();
    }
    const pumps = clients.slice(1).map((p, i) => pump(p, `bench/h/p${i}`));
    await sleep(warmupMs);
    const r0 = received;
    const c0 = readCpuSeconds(bp.pid);
    const m0 = readMachineBusySeconds();
    const g0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(durationMs);
    const secs = (performance.now() - t0) / 1000;
    const r1 = received;
    const c1 = readCpuSeconds(bp.pid);
    const m1 = readMachineBusySeconds();
    const g = process.cpuUsage(g0);
    const rss = readRss(bp.pid);
    const stats = bp.supportsControl ? await bp.control('stats', 3000).catch(() => null) : null;
    for (const p of pumps) p.running = false;
    const brokerPct = c0 !== null && c1 !== null ? pct((c1 - c0) / secs) : null;
    const generatorPct = pct((g.user + g.system) / 1e6 / secs);
    const machinePct = m0 !== null && m1 !== null ? pct((m1 - m0) / secs) : null;
    if (received === 0) errors.push('subscriber received no messages');
    for (const cl of clients) for (const e of cl.errors) if (errors.length < 20) errors.push(`${cl.clientId}: ${e}`);
    for (const cl of clients) if (cl.closed && errors.length < 20) errors.push(`${cl.clientId} disconnected: ${cl.closeReason}`);
    return {
      msgPerSec: Math.round((r1 - r0) / secs),
      rssAtWindowEndMB: rss !== null ? Math.round((rss / 1048576) * 10) / 10 : null,
      cpu: {
        brokerPct,
        generatorPct,
        otherPct: machinePct !== null && brokerPct !== null ? Math.max(0, Math.round((machinePct - brokerPct - generatorPct) * 10) / 10) : null,
      },
      errors,
      ...(stats?.messages ? { brokerMessages: stats.messages } : {}),
    };
  } finally {
    await Promise.all(clients.map((cl) => cl.close(1000).catch(() => cl.destroy())));
  }
}

/** (h) The scenario: set-up rate first (fresh broker), then the fan-in. */
export async function tlsFanIn(broker, opts, ctx) {
  const c = makeCerts();
  const bp = await broker.start({ tls: c });
  ctx.started.push(bp);
  try {
    const connectPerSec = await setupRate(bp, c, SETUP_CONNECTIONS);
    const f = await fanIn(bp, c, opts);
    if (bp.exitInfo) throw new Error(`${broker.name} exited during the scenario (code ${bp.exitInfo.code})`);
    const notes = [`set-up rate: ${SETUP_CONNECTIONS} connections, ${SETUP_CONCURRENCY} at a time, full handshakes (ECDSA P-256, no resumption), the generator's TLS work included`];
    if (f.cpu.generatorPct >= 90) notes.push('fan-in generator-bound: the generator encrypts/decrypts too');
    if (f.brokerMessages) notes.push(`broker at the end: ${f.brokerMessages.received} received, ${f.brokerMessages.sent} sent, ${f.brokerMessages.dropped} dropped (QoS 0 to a backed-up subscriber)`);
    return { metrics: { msgPerSec: f.msgPerSec, tlsConnectPerSec: connectPerSec }, cpu: f.cpu, rssAtWindowEndMB: f.rssAtWindowEndMB, errors: f.errors, notes };
  } finally {
    await bp.stop(3000);
  }
}

/** The entry for SCENARIOS in bench/run.mjs. */
export const TLS_SCENARIO = {
  id: 'h',
  title: 'TLS: fan-in 10->1, QoS 0, 64 B over TLS, and TLS connection set-up rate',
  run: tlsFanIn,
  ownsBroker: true,
  brokers: ['ops-broker', 'mosquitto'],
  notApplicable: 'the TLS scenario compares ours with mosquitto only',
  timeoutMs: (o) => o.warmupMs + o.durationMs + 60000,
};
