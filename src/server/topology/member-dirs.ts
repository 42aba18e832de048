/**
 * The instance folder of each frontend of a local topology (`members/<name>/`): a normal cluster
 * frontend instance made from the topology's own files. Made once (a member keeps its runtime.json
 * across restarts: runtime changes reach it through the cluster's config channel), except
 * backend.json, which is written when missing.
 *
 * Each member gets the topology's deployment lock, its runtime state with its own Prometheus port
 * (0: a free one, bound by the member itself), a backend.json naming every local Redis node, and a
 * copy of `secrets/` (the store key every frontend needs, the password file, and the instance CA:
 * made here first when a listener uses Automatic TLS, so every frontend's certificate is signed by
 * the one CA clients trust).
 */
import { copyFile, cp, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { parseBackendAddress } from '../../config/backend-address.js';
import { writeBackendFile } from '../../instance/backend-file.js';
import type { InstancePaths } from '../../instance/layout.js';
import { readRuntimeState, writeRuntimeState, type RuntimeState } from '../../instance/runtime-file.js';
import { ensureInstanceCa } from '../self-signed.js';

/** Whether any listener port of `state` uses Automatic TLS. */
function usesAutomaticTls(state: RuntimeState): boolean {
  return Object.values(state.listeners).some((l) => l.ports.some((p) => p.tls?.mode === 'Automatic'));
}

/** `state` with the Prometheus port set to 0 (each member binds a free one of its own). */
function withOwnMetricsPort(state: RuntimeState): RuntimeState {
  const diagnostics = state.broker.diagnostics ?? {};
  return { ...state, broker: { ...state.broker, diagnostics: { ...diagnostics, metrics: { ...diagnostics.metrics, prometheusPort: 0 } } } };
}

/** Makes the topology CA when a listener needs one (before the members copy `secrets/`). */
export async function prepareTopologySecrets(instance: InstancePaths): Promise<void> {
  if (usesAutomaticTls(await readRuntimeState(instance.runtime))) await ensureInstanceCa(instance.ca);
}

/** Makes (or completes) member `member`'s folder from `instance`, on the Redis nodes at `ports`. */
export async function prepareMember(instance: InstancePaths, member: InstancePaths, ports: readonly number[]): Promise<void> {
  await mkdir(member.data, { recursive: true, mode: 0o700 });
  if (!existsSync(member.lock)) await copyFile(instance.lock, member.lock);
  if (!existsSync(member.runtime)) await writeRuntimeState(member.runtime, withOwnMetricsPort(await readRuntimeState(instance.runtime)));
  await writeBackendFile(member.backend, parseBackendAddress(`redis://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`));
  if (existsSync(instance.secrets) && !existsSync(member.secrets)) await cp(instance.secrets, member.secrets, { recursive: true, errorOnExist: false, force: false, verbatimSymlinks: true });
}
