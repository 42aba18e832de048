/**
 * e2e helper: a broker instance created by the real `ops` CLI in a temp OPS_HOME, with the
 * resource files and MQTT clients a test file uses, all cleaned up by `cleanup()`.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { dropTlsDefault, makeOpsHome, type OpsHome, type OpsRun } from './cli-ops.js';

/** What `ops broker status -o json` gives (the parts tests read). */
export interface BrokerStatus {
  pid: number;
  ports: Array<{ listener: string; port: number }>;
}

/** An OPS_HOME holding one created instance. */
export interface OpsInstance extends OpsHome {
  /** The instance name (`--instance`). */
  readonly instance: string;
  /** Writes `value` as JSON to `name` in the home; returns the path. */
  file(name: string, value: unknown): Promise<string>;
  /** `ops broker KIND apply --instance I --name NAME --config-file <value as JSON>` (never rejects). */
  apply(kind: 'authn' | 'authz' | 'listener', name: string, value: unknown): Promise<OpsRun>;
  /** `ops broker status --instance I -o json`. */
  status(): Promise<BrokerStatus>;
  /** Keeps `client` to be ended by `cleanup()`; returns it. */
  track(client: MqttClient): MqttClient;
  /** Ends every tracked client, stops every broker under the home and removes it. */
  cleanup(): Promise<void>;
}

/** How {@link makeOpsInstance} sets the instance up. */
export interface OpsInstanceOptions {
  /**
   * Delete the TLS listener `default` after create, leaving the plain `default-insecure` alone: room
   * for tests that apply listeners of their own (a broker has at most 3).
   */
  readonly plainOnly?: boolean;
}

/**
 * Creates a temp OPS_HOME and `ops create --instance NAME --port 0 --secure-port 0` in it (listeners
 * `default`, TLS, and `default-insecure`, plain), with Prometheus on an ephemeral port and logs at
 * `logLevel` (the broker is started by create).
 */
export async function makeOpsInstance(instance: string, logLevel: 'warn' | 'info' = 'warn', options: OpsInstanceOptions = {}): Promise<OpsInstance> {
  const home = await makeOpsHome();
  const clients: MqttClient[] = [];
  const file = async (name: string, value: unknown): Promise<string> => {
    const path = join(home.home, name);
    await writeFile(path, JSON.stringify(value));
    return path;
  };
  const config = await file('broker.json', { diagnostics: { metrics: { prometheusPort: 0 }, logs: { level: logLevel } } });
  await home.json('create', '--instance', instance, '--port', '0', '--secure-port', '0', '--broker-config-file', config);
  if (options.plainOnly === true) await dropTlsDefault(home, instance);
  return {
    ...home,
    instance,
    file,
    apply: async (kind, name, value) =>
      home.ops('broker', kind, 'apply', '--instance', instance, '--name', name, '--config-file', await file(`${kind}-${name}.json`, value)),
    status: () => home.json<BrokerStatus>('broker', 'status', '--instance', instance),
    track: (client) => {
      clients.push(client);
      return client;
    },
    cleanup: async () => {
      for (const c of clients.splice(0)) c.end(true);
      await home.cleanup();
    },
  };
}
