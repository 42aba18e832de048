#!/usr/bin/env node
// Benchmark harness: ops-broker vs aedes vs mosquitto, side by side.
// See bench/README.md. Env: BENCH_DURATION_MS, BENCH_WARMUP_MS, BENCH_ONLY=a,b,
// BENCH_BROKERS=ours,aedes,mosquitto, BENCH_IDLE_CONNECTIONS, BENCH_DRAIN_COUNT, BENCH_OUT,
// BENCH_BASELINE=<checkout with a built dist/> (adds broker `base`, run like ours, and ours÷base).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { currentFdLimit, installCleanupHandlers, killAll, readThreads, sleep } from './lib/proc.mjs';

const selfPath = fileURLToPath(import.meta.url);
const NEED_FDS = 12000;

function envInt(name, def) {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got ${v}`);
  return n;
}

async function main() {
  installCleanupHandlers();
  // Hard stop for the whole run, whatever hangs: kill every child and exit.
  const maxSeconds = envInt('BENCH_MAX_SECONDS', 900);
  setTimeout(() => {
    console.error(`\nbench: whole run exceeded BENCH_MAX_SECONDS=${maxSeconds}; stopping all brokers`);
    killAll();
    process.exit(1);
  }, maxSeconds * 1000).unref();
  const { BROKERS } = await import('./lib/brokers.mjs');
  const { SCENARIOS: BASE_SCENARIOS } = await import('./lib/scenarios.mjs');
  const { TLS_SCENARIO } = await import('./lib/tls-scenarios.mjs');
  const { CLUSTER_SCENARIOS } = await import('./lib/cluster-scenarios.mjs');
  const { TOPOLOGY_SCENARIOS } = await import('./lib/topology-scenarios.mjs');
  const SCENARIOS = [...BASE_SCENARIOS, TLS_SCENARIO, ...CLUSTER_SCENARIOS, ...TOPOLOGY_SCENARIOS];

  const durationMs = envInt('BENCH_DURATION_MS', 5000);
  const warmupMs = envInt('BENCH_WARMUP_MS', 1000);
  const drainCount = Math.max(10, Math.round(envInt('BENCH_DRAIN_COUNT', 100000)));
  const fdLimit = currentFdLimit();
  let idleConns = envInt('BENCH_IDLE_CONNECTIONS', 10000);
  const only = (process.env.BENCH_ONLY ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  const brokerFilter = (process.env.BENCH_BROKERS ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  const scenarios = SCENARIOS.filter((s) => only.length === 0 || only.includes(s.id));
  const unknownBrokers = brokerFilter.filter((n) => !BROKERS.some((b) => b.name === n));
  if (unknownBrokers.length)
    throw new Error(
      `BENCH_BROKERS=${process.env.BENCH_BROKERS}: unknown broker ${unknownBrokers.join(', ')} (known: ${BROKERS.map((b) => b.name).join(', ')}${process.env.BENCH_BASELINE ? '' : '; base needs BENCH_BASELINE'})`,
    );
  if (scenarios.length === 0) throw new Error(`BENCH_ONLY=${process.env.BENCH_ONLY} selects no scenario (a,b,c,d,e,f,g,h,i,j,k,l)`);

  const headerNotes = [];
  if (idleConns + 500 > fdLimit) {
    const n = Math.max(100, fdLimit - 500);
    headerNotes.push(`fd limit ${fdLimit}: idle scenario uses ${n} connections instead of ${idleConns}`);
    idleConns = n;
  }

  const cores = os.availableParallelism?.() ?? os.cpus().length;
  const started = new Date();
  console.log(`ops-broker bench — ${started.toISOString()}`);
  console.log(
    `machine: ${cores} cores (${os.cpus()[0]?.model?.trim() ?? '?'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, fd limit ${fdLimit}`,
  );
  console.log(
    `generator: one Node process (this one), raw sockets + mqtt-packet; each broker in its own process; all on 127.0.0.1`,
  );
  console.log(`timing: warm-up ${warmupMs} ms, measure ${durationMs} ms per throughput scenario; drain scenario (f): ${drainCount} messages`);
  for (const n of headerNotes) console.log(`note: ${n}`);

  // ---- which brokers ----
  const brokers = [];
  const results = {
    startedAt: started.toISOString(),
    machine: { cores, cpu: os.cpus()[0]?.model?.trim(), memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, fdLimit },
    settings: { durationMs, warmupMs, idleConnections: idleConns, drainCount, payloadBytes: 64, mqtt: '3.1.1' },
    brokers: {},
    scenarios: {},
  };
  for (const b of BROKERS) {
    if (brokerFilter.length && !brokerFilter.includes(b.name)) continue;
    const reason = b.available();
    results.brokers[b.name] = { label: b.label, version: b.version ?? null, skipped: reason };
    if (reason) {
      console.log(`${b.name}: skipped: ${reason}`);
      continue;
    }
    brokers.push(b);
  }
  console.log(
    `brokers: ${brokers.map((b) => `${b.name}${b.version ? ` ${b.version}` : ''}`).join(', ') || 'none'}`,
  );
  console.log('');

  // ---- run: for each scenario, each broker in a fresh process ----
  for (const sc of scenarios) {
    results.scenarios[sc.id] = { title: sc.title, byBroker: {} };
    for (const b of brokers) {
      const rec = {};
      results.scenarios[sc.id].byBroker[b.name] = rec;
      if (results.brokers[b.name].skipped) {
        rec.skipped = results.brokers[b.name].skipped;
        continue;
      }
      if (sc.id >= 'i' && b.baseline) {
        rec.notApplicable = 'the cluster scenarios run ours only (not the baseline build)';
        continue;
      }
      if (sc.brokers && !sc.brokers.includes(b.kind)) {
        rec.notApplicable = sc.notApplicable ?? `no durable configuration of ${b.name} in the bench`;
        continue;
      }
      if (sc.ownsBroker) {
        // The scenario starts/stops (and restarts) its brokers itself.
        process.stdout.write(`(${sc.id}) ${sc.title} — ${b.name} ... `);
        const t0 = Date.now();
        const ctx = { started: [] };
        try {
          globalThis.gc?.();
          const opts = { durationMs, warmupMs, drainCount };
          const r = await withTimeout(sc.run(b, opts, ctx), sc.timeoutMs(opts), `scenario ${sc.id} timed out`);
          Object.assign(rec, r);
          rec.ok = true;
        } catch (e) {
          rec.ok = false;
          rec.error = e.message;
        }
        // Whatever happened, no broker of this scenario outlives it.
        for (const bp of ctx.started) if (!bp.exitInfo) await bp.stop(2000);
        rec.seconds = Math.round((Date.now() - t0) / 100) / 10;
        console.log(summarize(sc.id, rec));
        await sleep(200);
        continue;
      }
      process.stdout.write(`(${sc.id}) ${sc.title} — ${b.name} ... `);
      let bp = null;
      try {
        bp = await b.start();
      } catch (e) {
        const reason = `start failed: ${e.message}`;
        rec.skipped = reason;
        // A broker that does not start is skipped for the rest of the run.
        results.brokers[b.name].skipped = reason;
        console.log(`skipped: ${reason}`);
        continue;
      }
      const t0 = Date.now();
      try {
        globalThis.gc?.();
        const opts = { durationMs, warmupMs, connections: idleConns };
        const r = await withTimeout(sc.run(bp, opts), warmupMs + durationMs + 60000, `scenario ${sc.id} timed out`);
        Object.assign(rec, r);
        rec.ok = true;
      } catch (e) {
        rec.ok = false;
        rec.error = e.message;
      }
      rec.brokerThreads = readThreads(bp.pid);
      if (bp.supportsControl && !bp.exitInfo) {
        rec.brokerStats = await bp.control('stats').catch((e) => ({ error: e.message }));
      }
      const stop = await bp.stop(5000);
      rec.stop = stop;
      if (stop.forced) (rec.errors ??= []).push(`broker did not exit within 5 s of SIGTERM (killed)`);
      else if (stop.alreadyExited && rec.ok)
        (rec.errors ??= []).push(
          `broker process died on its own after the measured window, while the generator drained/closed its connections (exit code ${stop.exitInfo.code}, signal ${stop.exitInfo.signal}); see its stderr`,
        );
      else if (stop.exitInfo && stop.exitInfo.code !== 0 && !stop.alreadyExited && stop.exitInfo.signal !== 'SIGTERM')
        (rec.errors ??= []).push(`broker exited with code ${stop.exitInfo.code} after SIGTERM`);
      if (bp.stderrTail.trim()) rec.brokerStderr = bp.stderrTail.trim().slice(-4000);
      if (bp.stdoutTail.trim()) rec.brokerStdout = bp.stdoutTail.trim().slice(-2000);
      rec.seconds = Math.round((Date.now() - t0) / 100) / 10;
      console.log(summarize(sc.id, rec));
      await sleep(200);
    }
  }

  // ---- report ----
  console.log('');
  printTable(results, brokers.map((b) => b.name));
  printTargets(results);
  printStateStoreTarget(results);
  printClusterTargets(results);
  printProblems(results);
  const outPath = process.env.BENCH_OUT || path.join(os.tmpdir(), `ops-broker-bench-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  results.finishedAt = new Date().toISOString();
  fs.writeFileSync(outPath, JSON.stringify(results, null, 2) + '\n');
  console.log(`\nresults JSON: ${outPath}`);
  console.log(`total time: ${Math.round((Date.now() - started.getTime()) / 1000)} s`);
  killAll();
}

function withTimeout(p, ms, msg) {
  let t;
  return Promise.race([p, new Promise((_, rej) => (t = setTimeout(() => rej(new Error(msg)), ms)))]).finally(() => clearTimeout(t));
}

function fmtNum(v) {
  if (v === null || v === undefined) return '-';
  if (typeof v !== 'number') return String(v);
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function summarize(id, rec) {
  if (!rec.ok) return `FAILED: ${rec.error}`;
  const m = rec.metrics;
  const cpu = rec.cpu ? ` (broker CPU ${rec.cpu.brokerPct}%, generator CPU ${rec.cpu.generatorPct}%)` : '';
  const errs = rec.errors?.length ? ` [${rec.errors.length} problem(s)]` : '';
  switch (id) {
    case 'a':
      return `${fmtNum(m.msgPerSec)} msg/s${cpu}${errs}`;
    case 'b':
      return `${fmtNum(m.msgPerSec)} msg/s, p50 ${fmtNum(m.p50Ms)} ms, p99 ${fmtNum(m.p99Ms)} ms${cpu}${errs}`;
    case 'c':
      return `${fmtNum(m.deliveriesPerSec)} deliveries/s (per sub ${fmtNum(m.minSubscriberPerSec)}..${fmtNum(m.maxSubscriberPerSec)})${cpu}${errs}`;
    case 'd':
      return `RSS ${m.rssBeforeMB} -> ${m.rssAfterMB} MB, ${m.kbPerConnection} KB/conn, ${fmtNum(m.connectPerSec)} conn/s${errs}`;
    case 'e': {
      const dis = m.disabledMsgPerSec !== undefined ? `; encryption Disabled ${fmtNum(m.disabledMsgPerSec)} msg/s, p50 ${fmtNum(m.disabledP50Ms)} ms, p99 ${fmtNum(m.disabledP99Ms)} ms -> encryption cost ${fmtNum(m.encryptionCostPct)}%` : '';
      return `${fmtNum(m.msgPerSec)} msg/s, p50 ${fmtNum(m.p50Ms)} ms, p99 ${fmtNum(m.p99Ms)} ms${cpu}${dis}${errs}`;
    }
    case 'f':
      return `queued ${fmtNum(m.count)} at ${fmtNum(m.queueMsgPerSec)} msg/s, store ${fmtNum(m.storeMBQueued)} MB, stop ${fmtNum(m.gracefulStopMs)} ms, restart to ready ${fmtNum(m.restartReadyMs)} ms, drain ${m.drainSecs ?? '-'} s (${fmtNum(m.drainMsgPerSec)} msg/s)${cpu}${errs}`;
    case 'g': {
      const redis = m.redisSetPerSec !== undefined ? `; redis-server ${fmtNum(m.redisSetPerSec)} SET/s, ${fmtNum(m.redisGetPerSec)} GET/s -> ours÷redis SET ${m.setRatio}×, GET ${m.getRatio}×` : '; no redis-server';
      return `${fmtNum(m.setPerSec)} SET/s, ${fmtNum(m.getPerSec)} GET/s${redis}${errs}`;
    }
    case 'h':
      return `${fmtNum(m.msgPerSec)} msg/s over TLS, ${fmtNum(m.tlsConnectPerSec)} TLS connections/s${cpu}${errs}`;
    case 'i':
      return `${fmtNum(m.msgPerSec)} msg/s, p50 ${fmtNum(m.p50Ms)} ms, p99 ${fmtNum(m.p99Ms)} ms, all processes ${fmtNum(m.allProcessesCpuUsPerMsg)} µs CPU/msg (${fmtNum(m.allProcessesCpuPct)}% of one core)${cpu}${errs}`;
    case 'j':
      return `${fmtNum(m.msgPerSec)} msg/s, loss ${m.lostAcked} PUBACKed, longest stall ${fmtNum(m.maxStallMs)} ms (at ${m.maxStallAtS ?? '?'} s), ${m.duplicates} duplicates, failover ${fmtNum(m.failoverMs)} ms${errs}`;
    case 'l':
      return `create to ready ${fmtNum(m.createToReadyMs)} ms (${m.frontends} frontends, ${m.backendNodes} redis nodes, ${m.up} up); RSS at rest ${fmtNum(m.rssTotalMB)} MB: frontends ${fmtNum(m.rssFrontendsMB)}, redis ${fmtNum(m.rssBackendMB)}, supervisor ${fmtNum(m.rssSupervisorMB)}${errs}`;
    case 'k':
      return `${fmtNum(m.deliveriesPerSec)} deliveries/s (per sub ${fmtNum(m.minSubscriberPerSec)}..${fmtNum(m.maxSubscriberPerSec)}), all processes ${fmtNum(m.allProcessesCpuUsPerMsg)} µs CPU/delivery${cpu}${errs}`;
    default:
      return 'done';
  }
}

const ROWS = [
  { sc: 'a', label: '(a) fan-in QoS0 msg/s', get: (m) => m.msgPerSec, better: 'higher' },
  { sc: 'a', label: '(a) broker RSS at end MB', get: (m, rec) => rec.rssAtWindowEndMB, better: 'lower' },
  { sc: 'b', label: '(b) fan-in QoS1 msg/s', get: (m) => m.msgPerSec, better: 'higher' },
  { sc: 'b', label: '(b) QoS1 latency p50 ms', get: (m) => m.p50Ms, better: 'lower' },
  { sc: 'b', label: '(b) QoS1 latency p99 ms', get: (m) => m.p99Ms, better: 'lower' },
  { sc: 'b', label: '(b) broker RSS at end MB', get: (m, rec) => rec.rssAtWindowEndMB, better: 'lower' },
  { sc: 'c', label: '(c) fan-out 1->100 deliv/s', get: (m) => m.deliveriesPerSec, better: 'higher' },
  { sc: 'c', label: '(c) broker RSS at end MB', get: (m, rec) => rec.rssAtWindowEndMB, better: 'lower' },
  { sc: 'd', label: '(d) idle RSS before MB', get: (m) => m.rssBeforeMB, better: 'lower' },
  { sc: 'd', label: '(d) idle RSS after MB', get: (m) => m.rssAfterMB, better: 'lower' },
  { sc: 'd', label: '(d) KB per idle conn', get: (m) => m.kbPerConnection, better: 'lower' },
  { sc: 'd', label: '(d) connects/s', get: (m) => m.connectPerSec, better: 'higher' },
  { sc: 'e', label: '(e) persisted QoS1 msg/s', get: (m) => m.msgPerSec, better: 'higher' },
  { sc: 'e', label: '(e) persisted p50 ms', get: (m) => m.p50Ms, better: 'lower' },
  { sc: 'e', label: '(e) persisted p99 ms', get: (m) => m.p99Ms, better: 'lower' },
  { sc: 'e', label: '(e) in memory, (b) load msg/s', get: (m) => m.inMemoryMsgPerSec, better: 'higher' },
  { sc: 'e', label: '(e) persisted ÷ in memory %', get: (m) => m.persistedOfInMemoryPct, better: 'higher' },
  { sc: 'e', label: '(e) persisted ÷ own (b) %', get: (m, rec, results, b) => ownQos1Pct(results, b), better: 'higher' },
  { sc: 'e', label: '(e) enc Disabled msg/s', get: (m) => m.disabledMsgPerSec, better: 'higher' },
  { sc: 'e', label: '(e) enc Disabled p50 ms', get: (m) => m.disabledP50Ms, better: 'lower' },
  { sc: 'e', label: '(e) enc Disabled p99 ms', get: (m) => m.disabledP99Ms, better: 'lower' },
  { sc: 'e', label: '(e) encryption cost %', get: (m) => m.encryptionCostPct, better: 'lower' },
  { sc: 'e', label: '(e) broker CPU µs/msg', get: (m) => m.brokerCpuUsPerMsg, better: 'lower' },
  { sc: 'e', label: '(e) enc Disabled CPU µs/msg', get: (m) => m.disabledBrokerCpuUsPerMsg, better: 'lower' },
  { sc: 'e', label: '(e) store on disk at end MB', get: (m) => m.storeMBAtEnd, better: 'lower' },
  { sc: 'f', label: '(f) queue for offline msg/s', get: (m) => m.queueMsgPerSec, better: 'higher' },
  { sc: 'f', label: '(f) store on disk queued MB', get: (m) => m.storeMBQueued, better: 'lower' },
  { sc: 'f', label: '(f) graceful stop ms', get: (m) => m.gracefulStopMs, better: 'lower' },
  { sc: 'f', label: '(f) restart to ready ms', get: (m) => m.restartReadyMs, better: 'lower' },
  { sc: 'f', label: '(f) drain CONNECT->last s', get: (m) => m.drainSecs, better: 'lower' },
  { sc: 'f', label: '(f) drain msg/s', get: (m) => m.drainMsgPerSec, better: 'higher' },
  { sc: 'f', label: '(f) store after drain MB', get: (m) => m.storeMBAfterDrain, better: 'lower' },
  { sc: 'g', label: '(g) state store SET/s', get: (m) => m.setPerSec, better: 'higher' },
  { sc: 'g', label: '(g) state store GET/s', get: (m) => m.getPerSec, better: 'higher' },
  { sc: 'g', label: '(g) redis-server SET/s', get: (m) => m.redisSetPerSec, better: 'higher' },
  { sc: 'g', label: '(g) redis-server GET/s', get: (m) => m.redisGetPerSec, better: 'higher' },
  { sc: 'g', label: '(g) ours÷redis SET', get: (m) => m.setRatio, better: 'higher' },
  { sc: 'g', label: '(g) ours÷redis GET', get: (m) => m.getRatio, better: 'higher' },
  { sc: 'h', label: '(h) TLS fan-in QoS0 msg/s', get: (m) => m.msgPerSec, better: 'higher' },
  { sc: 'h', label: '(h) TLS connects/s', get: (m) => m.tlsConnectPerSec, better: 'higher' },
  { sc: 'h', label: '(h) broker RSS at end MB', get: (m, rec) => rec.rssAtWindowEndMB, better: 'lower' },
  { sc: 'l', label: '(l) topology create to ready ms', get: (m) => m.createToReadyMs, better: 'lower' },
  { sc: 'l', label: '(l) topology RSS at rest MB', get: (m) => m.rssTotalMB, better: 'lower' },
  { sc: 'i', label: '(i) cluster QoS1 msg/s', get: (m) => m.msgPerSec, better: 'higher' },
  { sc: 'i', label: '(i) cluster p50 ms', get: (m) => m.p50Ms, better: 'lower' },
  { sc: 'i', label: '(i) cluster p99 ms', get: (m) => m.p99Ms, better: 'lower' },
  { sc: 'i', label: '(i) all processes CPU µs/msg', get: (m) => m.allProcessesCpuUsPerMsg, better: 'lower' },
  { sc: 'i', label: '(i) PUBACKed msg/s (publishers)', get: (m) => m.ackedPerSec, better: 'higher' },
  { sc: 'i', label: '(i) all proc. CPU µs/PUBACKed', get: (m) => m.allProcessesCpuUsPerAcked, better: 'lower' },
  { sc: 'j', label: '(j) master kill msg/s', get: (m) => m.msgPerSec, better: 'higher' },
  { sc: 'j', label: '(j) PUBACKed lost', get: (m) => m.lostAcked, better: 'lower' },
  { sc: 'j', label: '(j) longest stall ms', get: (m) => m.maxStallMs, better: 'lower' },
  { sc: 'j', label: '(j) duplicates', get: (m) => m.duplicates, better: 'lower' },
  { sc: 'k', label: '(k) cluster fan-out deliv/s', get: (m) => m.deliveriesPerSec, better: 'higher' },
  { sc: 'k', label: '(k) all processes CPU µs/deliv', get: (m) => m.allProcessesCpuUsPerMsg, better: 'lower' },
];

/** Persisted QoS 1 (e) as a percentage of the same broker's in-memory QoS 1 (b) of this run. */
function ownQos1Pct(results, broker) {
  const e = results.scenarios.e?.byBroker?.[broker];
  const b = results.scenarios.b?.byBroker?.[broker];
  if (!e?.ok || !b?.ok || !b.metrics?.msgPerSec) return null;
  return Math.round((e.metrics.msgPerSec / b.metrics.msgPerSec) * 1000) / 10;
}

/** The durable persistence targets, for ours. */
function printTargets(results) {
  const e = results.scenarios.e?.byBroker?.ours;
  const f = results.scenarios.f?.byBroker?.ours;
  if (!e && !f) return;
  const lines = [];
  const verdict = (ok) => (ok === null ? 'n/a' : ok ? 'met' : 'MISSED');
  if (e) {
    // Judged against the in-memory runs of (e) itself, taken between the persisted runs (see
    // persistedQos1); scenario (b) of the run is shown too, measured minutes apart.
    const b = results.scenarios.b?.byBroker?.ours;
    const p = e.ok ? e.metrics.persistedOfInMemoryPct : undefined;
    const own = ownQos1Pct(results, 'ours');
    const besideB = own === null ? (b ? '' : '; scenario (b) not in this run') : `; against scenario (b) of this run: ${fmtNum(e.metrics.msgPerSec)} / ${fmtNum(b.metrics.msgPerSec)} msg/s = ${own}%`;
    if (p === undefined || p === null) lines.push(`persisted QoS 1 >= 50% of in-memory QoS 1: n/a (a run failed)`);
    else lines.push(`persisted QoS 1 >= 50% of in-memory QoS 1 (runs interleaved in (e)): ${fmtNum(e.metrics.msgPerSec)} / ${fmtNum(e.metrics.inMemoryMsgPerSec)} msg/s = ${p}%  -> ${verdict(p >= 50)}${besideB}`);
    const c = e.ok ? e.metrics.encryptionCostPct : undefined;
    if (c === undefined || c === null) lines.push('encryption cost < 15% vs Disabled: n/a (a run failed)');
    else lines.push(`encryption cost < 15% vs Disabled: ${fmtNum(e.metrics.msgPerSec)} vs ${fmtNum(e.metrics.disabledMsgPerSec)} msg/s = ${c}%  -> ${verdict(c < 15)}`);
  }
  if (f) {
    const d = f.ok ? f.metrics.drainSecs : null;
    if (d === null || d === undefined) lines.push(`drain of ${results.settings.drainCount} after restart < 5 s: n/a (${f.error ?? 'not all messages arrived'})`);
    else lines.push(`drain of ${fmtNum(f.metrics.count)} after restart < 5 s: ${d} s  -> ${verdict(d < 5)}${f.metrics.count !== 100000 ? ' (BENCH_DRAIN_COUNT is not 100,000)' : ''}`);
  }
  console.log('\nPersistence targets (ours):');
  for (const l of lines) console.log('  ' + l);
}

/** The state store target, for ours: at least 25k SET/s in memory mode. */
function printStateStoreTarget(results) {
  const g = results.scenarios.g?.byBroker?.ours;
  if (!g) return;
  const line = g.ok ? `${fmtNum(g.metrics.setPerSec)} SET/s  -> ${g.metrics.setPerSec >= 25000 ? 'met' : 'MISSED'}` : `n/a (${g.error})`;
  console.log(`\nState store target (ours): >= 25,000 SET/s in memory mode: ${line}`);
}

/** The cluster targets (issue 15), for ours, with PASS/FAIL. */
function printClusterTargets(results) {
  const i = results.scenarios.i?.byBroker;
  const j = results.scenarios.j?.byBroker?.ours;
  if (!i && !j) return;
  const verdict = (ok) => (ok ? 'PASS' : 'FAIL');
  const lines = [];
  if (i) {
    const ours = i.ours;
    const aedes = i.aedes;
    if (!ours?.ok) lines.push(`(i) >= 2x the aedes cluster: n/a (ours ${ours ? `failed: ${ours.error}` : 'not run'})`);
    else if (!aedes?.ok) lines.push(`(i) >= 2x the aedes cluster: n/a (aedes cluster ${aedes?.skipped ?? aedes?.notApplicable ?? (aedes ? `failed: ${aedes.error}` : 'not run')})`);
    else {
      const x = ours.metrics.msgPerSec / aedes.metrics.msgPerSec;
      lines.push(`(i) >= 2x the aedes cluster: ${fmtNum(ours.metrics.msgPerSec)} / ${fmtNum(aedes.metrics.msgPerSec)} msg/s = ${x.toFixed(2)}x  -> ${verdict(x >= 2)}`);
    }
    const e = results.scenarios.e?.byBroker?.ours;
    if (!ours?.ok) lines.push('(i) >= 25% of our standalone persisted (e): n/a');
    else if (!e?.ok) lines.push(`(i) >= 25% of our standalone persisted (e): n/a (${e ? `e failed: ${e.error}` : 'e not in this run: BENCH_ONLY=e,i,j,k'})`);
    else {
      const p = (ours.metrics.msgPerSec / e.metrics.msgPerSec) * 100;
      lines.push(`(i) >= 25% of our standalone persisted (e): ${fmtNum(ours.metrics.msgPerSec)} / ${fmtNum(e.metrics.msgPerSec)} msg/s = ${p.toFixed(1)}%  -> ${verdict(p >= 25)}`);
    }
    const standalone = e?.ok ? e.metrics.brokerCpuUsPerMsg : null;
    const cl = ours?.ok ? ours.metrics.allProcessesCpuUsPerMsg : null;
    const ae = aedes?.ok ? aedes.metrics.allProcessesCpuUsPerMsg : null;
    lines.push(
      `CPU µs per message, all processes: standalone persisted (e) ${standalone === null ? 'n/a' : fmtNum(standalone)} (one broker process)` +
        `; ours cluster (i) ${cl === null ? 'n/a' : fmtNum(cl)} (2 frontends + 6 redis-servers)` +
        (ae !== null ? `; aedes cluster (i) ${fmtNum(ae)} (2 aedes + 6 redis-servers)` : '') +
        (standalone && cl ? `  -> cluster ÷ standalone ${(cl / standalone).toFixed(1)}x` : ''),
    );
  }
  if (j) {
    if (!j.ok) lines.push(`(j) zero loss with a master killed: n/a (failed: ${j.error})`);
    else
      lines.push(
        `(j) zero loss with a master killed: ${j.metrics.lostAcked} PUBACKed messages lost  -> ${verdict(j.metrics.lostAcked === 0)}; longest stall ${fmtNum(j.metrics.maxStallMs)} ms, ${j.metrics.duplicates} duplicates, failover ${fmtNum(j.metrics.failoverMs)} ms`,
      );
  }
  console.log('\nCluster targets (ours):');
  for (const l of lines) console.log('  ' + l);
}

function cell(results, sc, broker, get) {
  const rec = results.scenarios[sc]?.byBroker?.[broker];
  if (!rec) return { text: 'n/a', v: null };
  if (rec.skipped) return { text: 'skipped', v: null };
  if (rec.notApplicable) return { text: 'n/a', v: null };
  if (!rec.ok) return { text: 'ERROR', v: null };
  const v = get(rec.metrics, rec, results, broker);
  if (v === null || v === undefined) return { text: '-', v: null };
  return { text: fmtNum(v) + (rec.errors?.length ? '*' : ''), v: typeof v === 'number' ? v : null };
}

function printTable(results, brokerNames) {
  // With a baseline build (BENCH_BASELINE) its column and ours÷base come first, and the other
  // brokers get columns only when they are in the run.
  const withBase = results.brokers.base !== undefined;
  const cols = withBase ? ['ours', 'base', 'aedes', 'mosquitto'].filter((c) => c === 'ours' || results.brokers[c]) : ['ours', 'aedes', 'mosquitto'];
  const others = cols.slice(1);
  const header = ['scenario', ...cols, ...others.map((c) => `ours÷${c}`), 'better'];
  const rows = [];
  for (const r of ROWS) {
    if (!results.scenarios[r.sc]) continue;
    const cells = cols.map((c) => (brokerNames.includes(c) || results.brokers[c] ? cell(results, r.sc, c, r.get) : { text: 'n/a', v: null }));
    const ratio = (a, b) => (a.v !== null && b.v !== null && b.v !== 0 ? (a.v / b.v).toFixed(2) + '×' : '-');
    rows.push([r.label, ...cells.map((c) => c.text), ...cells.slice(1).map((c) => ratio(cells[0], c)), r.better]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (row) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
  console.log('(* = the scenario reported problems, see below; ratios are ours divided by the other broker, read with the "better" column)');
  if (withBase)
    console.log(`(base = the build in BENCH_BASELINE=${process.env.BENCH_BASELINE}, ${results.brokers.base.version ?? 'not built'}: ours÷base near 1.00× is no change; judge a difference against the spread of repeated runs)`);
  // CPU use during the measured window helps tell who was the bottleneck.
  const cpuLines = [];
  for (const [id, sc] of Object.entries(results.scenarios)) {
    for (const [b, rec] of Object.entries(sc.byBroker)) {
      const runs = rec.variants
        ? Object.entries(rec.variants).map(([vid, v]) => [`${b}:${vid}`, v])
        : [[b, rec]];
      for (const [who, run] of runs) {
      if (run.ok && run.cpu) {
        const c = run.cpu;
        const flags = [];
        if (c.generatorPct >= 90) flags.push('generator-bound');
        if (c.otherPct !== null && c.otherPct >= 25) flags.push('other load on the machine: noisy');
        cpuLines.push(
          `(${id}) ${who.padEnd(20)} broker ${String(c.brokerPct).padStart(5)}%  generator ${String(c.generatorPct).padStart(5)}%  other ${String(c.otherPct ?? '?').padStart(5)}%${flags.length ? '  <- ' + flags.join(', ') : ''}${id === 'f' ? '  (during the drain)' : ''}`,
        );
      }
      }
    }
  }
  if (cpuLines.length) {
    console.log(
      `\nCPU during the measured window (% of one core; ${results.machine.cores} cores in total; "other" = rest of the machine):`,
    );
    for (const l of cpuLines) console.log('  ' + l);
  }
}

function printProblems(results) {
  const lines = [];
  for (const [id, sc] of Object.entries(results.scenarios)) {
    for (const [b, rec] of Object.entries(sc.byBroker)) {
      if (rec.skipped || rec.notApplicable) continue;
      const items = [];
      if (!rec.ok) items.push(`FAILED: ${rec.error}`);
      for (const e of rec.errors ?? []) items.push(e);
      for (const n of rec.notes ?? []) items.push(`note: ${n}`);
      if (rec.brokerStderr) items.push(`broker stderr (tail):\n      ${rec.brokerStderr.split('\n').slice(-15).join('\n      ')}`);
      if (rec.stop && rec.stop.ms > 1000) items.push(`note: broker took ${rec.stop.ms} ms to exit after SIGTERM`);
      const we = rec.brokerStatsAtWindowEnd?.messages;
      if (we && (we.queued > 1000 || we.dropped > 0))
        items.push(`note: broker stats at the end of the window: ${we.queued} queued, ${we.inflight} in flight, ${we.dropped} dropped so far`);
      const dropped = rec.brokerStats?.messages?.dropped;
      if (dropped) items.push(`note: broker stats report ${dropped} dropped messages`);
      if (items.length) lines.push(`(${id}) ${b}:\n    ${items.join('\n    ')}`);
    }
  }
  const skipped = Object.entries(results.brokers).filter(([, v]) => v.skipped);
  for (const [b, v] of skipped) lines.push(`${b}: skipped: ${v.skipped}`);
  if (lines.length) {
    console.log('\nProblems and notes:');
    for (const l of lines) console.log(l);
  }
}

// ---- re-exec under a raised fd limit (the generator holds 10k sockets) ----
if (!process.env.BENCH_REEXEC && currentFdLimit() < NEED_FDS) {
  const wrapper = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"';
  const child = spawn('sh', ['-c', wrapper, process.execPath, ...process.execArgv, selfPath, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_REEXEC: '1' },
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  await main();
}
