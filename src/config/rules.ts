/**
 * Rules the JSON Schemas cannot say, checked in code after the schema passed: persistence size
 * over 100 MB, ReadWriteOncePod, Custom modes with their settings, topic filter syntax, listener
 * port uniqueness, nodePort only on NodePort, TLS automatic xor manual, authn settings per method.
 */
import { childPath, type ConfigIssue } from './issues.js';
import { persistenceSizeProblem } from './quantity.js';
import type { AuthenticationProperties, BrokerProperties, ListenerProperties, PersistComponent } from './types.js';

/** Exact AIO message for a port with both automatic and manual TLS. */
export const TLS_BOTH_MESSAGE = 'TLS may be setup with an automatic or manual config, not both.';

/** True when `filter` is a valid MQTT topic filter (`#` last and alone, `+` alone in its level). */
export function isTopicFilter(filter: string): boolean {
  if (filter.length === 0 || filter.includes('\u0000')) return false;
  const levels = filter.split('/');
  return levels.every((level, i) => {
    if (level.includes('#')) return level === '#' && i === levels.length - 1;
    if (level.includes('+')) return level === '+';
    return true;
  });
}

const SETTINGS_KEY: Readonly<Record<PersistComponent, string>> = {
  retain: 'retainSettings',
  subscriberQueue: 'subscriberQueueSettings',
  stateStore: 'stateStoreSettings',
};

/** Semantic checks of Broker properties; `base` is the JSON path prefix of the document. */
export function brokerRules(props: BrokerProperties, base = ''): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const p = props.persistence;
  if (!p) return issues;
  const at = (rel: string): string => childPath(base, `persistence.${rel}`);
  const sizeProblem = persistenceSizeProblem(p.maxSize); // the schema's pattern already refused a non-size
  if (sizeProblem !== undefined) issues.push({ path: at('maxSize'), message: sizeProblem });
  const pvc = p.persistentVolumeClaimSpec;
  if (pvc) {
    const modes = pvc['accessModes'];
    if (!Array.isArray(modes) || modes.length !== 1 || modes[0] !== 'ReadWriteOncePod') {
      issues.push({
        path: at('persistentVolumeClaimSpec.accessModes'),
        message: `must be ["ReadWriteOncePod"] (got ${JSON.stringify(modes) ?? 'nothing'})`,
      });
    }
  }
  for (const key of ['retain', 'subscriberQueue', 'stateStore'] as const) {
    const component = p[key] as ({ mode: string } & Record<string, unknown>) | undefined;
    if (!component) continue;
    const settings = SETTINGS_KEY[key];
    if (component.mode === 'Custom' && component[settings] === undefined) {
      issues.push({ path: at(`${key}.${settings}`), message: `is required when ${key}.mode is Custom` });
    }
    if (component.mode !== 'Custom' && component[settings] !== undefined) {
      issues.push({ path: at(`${key}.${settings}`), message: `is only allowed when ${key}.mode is Custom (mode is ${component.mode})` });
    }
  }
  (p.retain?.retainSettings?.topics ?? []).forEach((topic, i) => {
    if (!isTopicFilter(topic)) {
      issues.push({ path: at(`retain.retainSettings.topics[${i}]`), message: `is not a valid MQTT topic filter (got ${JSON.stringify(topic)})` });
    }
  });
  return issues;
}

/** Another listener's ports, for the uniqueness rule. */
export interface OtherListener {
  readonly name: string;
  readonly ports: readonly number[];
}

/** Listeners a broker may have (AIO documents at most three). */
export const MAX_LISTENERS = 3;

/** Semantic checks of a listener; `others` are the instance's other listeners. */
export function listenerRules(props: ListenerProperties, others: readonly OtherListener[] = [], base = ''): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (others.length >= MAX_LISTENERS) {
    // AIO: a broker has at most three listeners (doc rule, not in the schema).
    issues.push({ path: base, message: `a broker has at most ${MAX_LISTENERS} listeners; ${others.map((o) => `'${o.name}'`).join(', ')} exist (delete one first)` });
  }
  const seen = new Map<number, number>();
  props.ports.forEach((port, i) => {
    const at = childPath(base, `ports[${i}]`);
    if (port.port !== 0) {
      const first = seen.get(port.port);
      if (first !== undefined) issues.push({ path: `${at}.port`, message: `duplicates port ${port.port} of ports[${first}]` });
      else seen.set(port.port, i);
      const owner = others.find((o) => o.ports.includes(port.port));
      if (owner) issues.push({ path: `${at}.port`, message: `port ${port.port} is already used by listener '${owner.name}' (ports must be unique across listeners)` });
    }
    if (port.nodePort !== undefined && props.serviceType !== 'NodePort') {
      issues.push({ path: `${at}.nodePort`, message: `is only allowed when serviceType is NodePort (got ${props.serviceType ?? 'ClusterIp (default)'})` });
    }
    const tls = port.tls;
    if (tls) {
      if (tls.certManagerCertificateSpec && tls.manual) issues.push({ path: `${at}.tls`, message: TLS_BOTH_MESSAGE });
      else if (tls.mode === 'Manual' && !tls.manual) issues.push({ path: `${at}.tls.manual`, message: 'is required when tls.mode is Manual' });
      else if (tls.mode === 'Automatic' && tls.manual) issues.push({ path: `${at}.tls.manual`, message: 'is only allowed when tls.mode is Manual' });
    }
  });
  return issues;
}

const METHOD_SETTINGS: Readonly<Record<string, string>> = {
  ServiceAccountToken: 'serviceAccountTokenSettings',
  X509: 'x509Settings',
  Custom: 'customSettings',
};

/** Semantic checks of an authentication: each method carries its own settings and no other's. */
export function authenticationRules(props: AuthenticationProperties, base = ''): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  props.authenticationMethods.forEach((m, i) => {
    const at = childPath(base, `authenticationMethods[${i}]`);
    const own = METHOD_SETTINGS[m.method];
    if ((m.method === 'ServiceAccountToken' || m.method === 'Custom') && own && m[own] === undefined) {
      issues.push({ path: `${at}.${own}`, message: `is required when method is ${m.method}` });
    }
    for (const [method, key] of Object.entries(METHOD_SETTINGS)) {
      if (method !== m.method && m[key] !== undefined) issues.push({ path: `${at}.${key}`, message: `is only allowed when method is ${method}` });
    }
  });
  return issues;
}
