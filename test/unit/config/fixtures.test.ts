import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/read-file.js';
import { findIssues } from '../../../src/config/validate.js';
import type { ResourceKind } from '../../../src/config/types.js';

const root = new URL('../../../fixtures/config/', import.meta.url);
const kindOf = (file: string): ResourceKind => file.split('--')[0] as ResourceKind;
const issuesOf = (dir: string, file: string) => {
  const parsed = parseConfigText(readFileSync(new URL(`${dir}/${file}`, root), 'utf8'), file);
  return findIssues(kindOf(file), parsed.value, { pathPrefix: parsed.pathPrefix });
};

/** Every invalid fixture, with the JSON paths its report must name. */
const EXPECTED: Record<string, string[]> = {
  'broker--encryption-alone.json': ['persistence.maxSize'],
  'broker--maxsize-unit-typo.json': ['persistence.maxSize'],
  'broker--maxsize-too-small.json': ['persistence.maxSize'],
  'broker--pvc-read-write-once.json': ['persistence.persistentVolumeClaimSpec.accessModes'],
  'broker--retain-custom-no-settings.json': ['persistence.retain.retainSettings'],
  'broker--retain-all-with-settings.json': ['persistence.retain.retainSettings'],
  'broker--enums.json': [
    'memoryProfile',
    'advanced.clients.subscriberQueueLimit.strategy',
    'persistence.retain.mode',
    'persistence.stateStore.stateStoreSettings.stateStoreResources[0].keyType',
    'persistence.stateStore.stateStoreSettings.dynamic.mode',
  ],
  'broker--ranges.json': [
    'cardinality.backendChain.partitions',
    'cardinality.backendChain.redundancyFactor',
    'cardinality.frontend.replicas',
    'advanced.clients.maxPacketSizeBytes',
    'advanced.clients.maxReceiveMaximum',
    'diagnostics.selfCheck.intervalSeconds',
  ],
  'broker--cardinality-no-frontend.json': ['cardinality.frontend'],
  'broker--disk-buffer-gi.json': ['diskBackedMessageBuffer.maxSize'],
  'broker--unknown-top-level.json': ['persistentVolumeClaimSpec', 'serviceType'],
  'broker--bad-retain-topic.json': ['persistence.retain.retainSettings.topics[0]'],
  'listener--no-ports.json': ['ports'],
  'listener--bad-protocol-port.json': ['ports[0].port', 'ports[0].protocol'],
  'listener--tls-both.json': ['ports[0].tls'],
  'listener--duplicate-port.json': ['ports[1].port'],
  'listener--nodeport-on-clusterip.json': ['ports[0].nodePort'],
  'listener--secret-traversal.json': [
    'ports[0].tls.manual.secretRef',
    'ports[1].authenticationRef',
    'ports[1].authorizationRef',
    'ports[1].tls.certManagerCertificateSpec.secretName',
  ],
  'listener--too-many-ports.json': ['ports'],
  'authentication--ref-traversal.json': [
    'authenticationMethods[0].x509Settings.trustedClientCaCert',
    'authenticationMethods[1].customSettings.caCertConfigMap',
    'authenticationMethods[1].customSettings.auth.x509.secretRef',
  ],
  'authentication--custom-http.json': ['authenticationMethods[0].customSettings.endpoint'],
  'authentication--sat-no-audiences.json': ['authenticationMethods[0].serviceAccountTokenSettings.audiences'],
  'authentication--x509-no-subject.json': ['authenticationMethods[0].x509Settings.authorizationAttributes.root.subject'],
  'authorization--publish-no-topics.json': ['authorizationPolicies.rules[0].brokerResources[0].topics'],
  'authorization--rule-no-principals.json': ['authorizationPolicies.rules[0].principals'],
  'authorization--statestore-delete.json': ['authorizationPolicies.rules[0].stateStoreResources[0].method'],
};

describe('config fixtures', () => {
  it.each(readdirSync(new URL('valid', root)))('valid/%s has no problems', (file) => {
    expect(issuesOf('valid', file)).toEqual([]);
  });

  it.each(readdirSync(new URL('invalid', root)).filter((f) => !f.includes('broken-json')))('invalid/%s names every problem', (file) => {
    const expected = EXPECTED[file];
    expect(expected, `add ${file} to EXPECTED`).toBeDefined();
    const paths = issuesOf('invalid', file).map((i) => i.path);
    expect([...new Set(paths)].sort()).toEqual([...(expected ?? [])].sort());
  });

  it('names the wrapper in paths when the file has top-level properties', () => {
    const parsed = parseConfigText('{"properties":{"memoryProfile":"Huge"}}', 'f.json');
    expect(findIssues('broker', parsed.value, { pathPrefix: parsed.pathPrefix })).toEqual([
      { path: 'properties.memoryProfile', message: 'must be one of "Tiny", "Low", "Medium", "High" (got "Huge")' },
    ]);
  });

  it('explains what was expected', () => {
    const issues = issuesOf('invalid', 'broker--maxsize-too-small.json');
    expect(issues[0]?.message).toBe('must be greater than 100 MB (got "50M")');
    const typo = issuesOf('invalid', 'broker--maxsize-unit-typo.json');
    expect(typo[0]?.message).toContain('a Kubernetes quantity such as 10Gi');
    const tls = issuesOf('invalid', 'listener--tls-both.json');
    expect(tls[0]?.message).toBe('TLS may be setup with an automatic or manual config, not both.');
  });
});
