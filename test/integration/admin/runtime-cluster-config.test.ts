/**
 * The runtime's side of the cluster config channel (src/server/runtime.ts), on a broker in this
 * process with a scripted channel: a change whose shared part differs is published on top of the
 * runtime's revision; when the cluster is past it, the newer revision is applied and the change made
 * again on it (nothing lost); a listener-only change is not published; a failed publication changes
 * nothing; revisions from other frontends are applied through the change steps (policy, log level,
 * runtime.json), older ones skipped, and one the locked settings refuse leaves everything as it was.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callAdmin } from '../../../src/admin/client.js';
import type { ConfigRevision } from '../../../src/cluster/config-codec.js';
import { sharedPartOf, type SharedRuntime } from '../../../src/config/shared-runtime.js';
import type { ConfigChannel } from '../../../src/server/runtime.js';
import { OpsError } from '../../../src/shared/errors.js';
import { recordingLogger } from '../../helpers/recording-logger.js';
import { startStoredInstance, type StoredInstance } from '../../helpers/stored-instance.js';

let instance: StoredInstance;
const logger = { ...recordingLogger(), level: 'info' };

const rule = { authorizationPolicies: { rules: [{ principals: { usernames: ['alice'] }, brokerResources: [{ method: 'Connect' }] }] } };

/** A channel that answers publications from a script and records them. */
class ScriptedChannel implements ConfigChannel {
  readonly published: Array<{ base: number; shared: SharedRuntime }> = [];
  /** What the next publications answer: a revision number, undefined (conflict) or an error. */
  readonly answers: Array<number | undefined | Error> = [];
  latestRevision: ConfigRevision | undefined;

  async publish(base: number, shared: SharedRuntime): Promise<number | undefined> {
    this.published.push({ base, shared });
    const answer = this.answers.shift();
    if (answer instanceof Error) throw answer;
    return answer;
  }

  async latest(): Promise<ConfigRevision | undefined> {
    return this.latestRevision;
  }

  stats(): { refused: number; badEntries: number } {
    return { refused: 0, badEntries: 0 };
  }
}

const channel = new ScriptedChannel();
const change = (request: Record<string, unknown>) => callAdmin(instance.paths.socket, 'runtime.change', { v: 1, ...request });
const stored = async () => JSON.parse(await readFile(instance.paths.runtime, 'utf8')) as { authorizations: Record<string, unknown>; broker: { diagnostics?: { logs?: { level?: string } } } };

beforeAll(async () => {
  instance = await startStoredInstance('cfg', { default: { ports: [{ port: 0 }] } }, logger);
  await instance.running.runtime.joinClusterConfig(channel, 1);
});
afterAll(async () => {
  await instance?.close();
});

describe('runtime changes on a cluster frontend', () => {
  it('publishes a change on top of its revision; on a conflict applies the newer revision and makes the change again on it', async () => {
    const runtime = instance.running.runtime;
    const theirs = sharedPartOf({ ...runtime.state(), authorizations: { theirs: rule } });
    channel.latestRevision = { rev: 2, origin: 'OtherFrontend000', shared: theirs };
    channel.answers.push(undefined, 3);
    await change({ kind: 'resource.apply', resource: 'authorization', name: 'mine', properties: rule });
    expect(channel.published.map((p) => p.base)).toEqual([1, 2]);
    expect(Object.keys(channel.published[0]?.shared.authorizations ?? {})).toEqual(['mine']);
    expect(Object.keys(channel.published[1]?.shared.authorizations ?? {}).sort()).toEqual(['mine', 'theirs']);
    expect(runtime.configRevision).toBe(3);
    expect(Object.keys(runtime.state().authorizations).sort()).toEqual(['mine', 'theirs']);
    expect(Object.keys((await stored()).authorizations).sort()).toEqual(['mine', 'theirs']);
  });

  it('does not publish a change of its own listeners, and a failed publication changes nothing', async () => {
    const runtime = instance.running.runtime;
    const count = channel.published.length;
    await change({ kind: 'resource.apply', resource: 'listener', name: 'extra', properties: { ports: [{ port: 0 }] } });
    expect(channel.published.length).toBe(count);
    expect(runtime.listeners.openPorts().some((p) => p.listener === 'extra')).toBe(true);

    channel.answers.push(new OpsError('STO_WRITE_FAILED', { path: 'cfg:{config}', reason: 'backend down' }));
    await expect(change({ kind: 'log-level.set', level: 'debug' })).rejects.toMatchObject({ code: 'STO_WRITE_FAILED' });
    expect(runtime.status().logLevel).toBe('info');
    expect((await stored()).broker.diagnostics?.logs?.level).toBeUndefined();
    expect(runtime.configRevision).toBe(3);
  });

  it('applies revisions of other frontends through the change steps, skips older ones, and leaves all as it was on one it refuses', async () => {
    const runtime = instance.running.runtime;
    const policyVersion = runtime.policy.version;
    const base = runtime.state();
    const next = sharedPartOf({ ...base, broker: { ...base.broker, diagnostics: { logs: { level: 'debug' } }, persistence: { retain: { mode: 'None' } } } });
    await runtime.adoptRevision({ rev: 4, origin: 'OtherFrontend000', shared: next });
    expect(runtime.configRevision).toBe(4);
    expect(runtime.status().logLevel).toBe('debug');
    expect(runtime.policy.policy.retain.mode).toBe('None');
    expect(runtime.policy.version).toBe(policyVersion + 1);
    expect(runtime.status().metricsPort).not.toBeNull(); // its own Prometheus port is kept
    expect((await stored()).broker.diagnostics?.logs?.level).toBe('debug');

    await runtime.adoptRevision({ rev: 3, origin: 'OtherFrontend000', shared: sharedPartOf(base) });
    expect(runtime.policy.policy.retain.mode).toBe('None'); // older: skipped

    // A retain mode the Broker schema does not know: refused by the joined check (this instance's locked half).
    const refused = sharedPartOf({ ...base, broker: { persistence: { retain: { mode: 'Bogus' } } } } as never);
    await expect(runtime.adoptRevision({ rev: 5, origin: 'OtherFrontend000', shared: refused })).rejects.toMatchObject({ code: 'CFG_SCHEMA_INVALID' });
    expect(runtime.configRevision).toBe(4);
    expect(runtime.policy.policy.retain.mode).toBe('None');
  });
});
