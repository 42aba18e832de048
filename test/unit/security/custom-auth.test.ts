import { describe, expect, it } from 'vitest';
import { ReasonCode } from '../../../src/protocol/reason-codes.js';
import { connectRequestBody, derToPem } from '../../../src/security/authn/custom-request.js';
import { interpretAnswer } from '../../../src/security/authn/custom-response.js';
import { customAuthTimeoutMs, DEFAULT_CUSTOM_AUTH_TIMEOUT_MS, readCustomSettings } from '../../../src/security/authn/custom-settings.js';

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const custom = (customSettings: unknown) => ({ method: 'Custom', customSettings });

describe('Custom authentication: answers (API 0.5.0)', () => {
  it('200 passes with string attributes and an RFC 3339 expiry', () => {
    expect(interpretAnswer(200, json({ attributes: { group: 'g1' }, expiry: '2030-05-08T20:04:16+00:00' }))).toEqual({
      kind: 'pass',
      attributes: { group: 'g1' },
      expiresAt: new Date('2030-05-08T20:04:16Z'),
    });
    expect(interpretAnswer(200, json({ attributes: {} }))).toEqual({ kind: 'pass', attributes: {}, expiresAt: undefined });
  });

  it('a malformed 200 is no decision, naming what is wrong', () => {
    expect(interpretAnswer(200, Buffer.from('{"attributes":'))).toMatchObject({ kind: 'noDecision', problem: expect.stringContaining('not JSON') });
    expect(interpretAnswer(200, Buffer.alloc(0))).toMatchObject({ kind: 'noDecision' });
    expect(interpretAnswer(200, json([1]))).toMatchObject({ kind: 'noDecision', problem: expect.stringContaining('not an object') });
    expect(interpretAnswer(200, json({ attributes: { n: 1 } }))).toMatchObject({ kind: 'noDecision', problem: expect.stringContaining('"n" that is not a string') });
    expect(interpretAnswer(200, json({ attributes: 'x' }))).toMatchObject({ kind: 'noDecision' });
    expect(interpretAnswer(200, json({ attributes: {}, expiry: 'tomorrow' }))).toMatchObject({ kind: 'noDecision', problem: expect.stringContaining('RFC 3339') });
    expect(interpretAnswer(200, json({ attributes: {}, expiry: 1234 }))).toMatchObject({ kind: 'noDecision' });
  });

  it('403 fails with the reason code; 3.1.1 codes and unusable bodies map to 5.0 codes', () => {
    expect(interpretAnswer(403, json({ reason: 134, message: 'bad\npassword' }))).toEqual({ kind: 'fail', reasonCode: ReasonCode.BadUserNameOrPassword, message: 'bad password', problem: undefined });
    expect(interpretAnswer(403, json({ reason: 4 }))).toMatchObject({ kind: 'fail', reasonCode: ReasonCode.BadUserNameOrPassword });
    expect(interpretAnswer(403, json({ reason: 5 }))).toMatchObject({ kind: 'fail', reasonCode: ReasonCode.NotAuthorized });
    expect(interpretAnswer(403, json({ reason: 0 }))).toMatchObject({ kind: 'fail', reasonCode: ReasonCode.NotAuthorized, problem: expect.stringContaining('not a CONNACK failure code') });
    expect(interpretAnswer(403, json({ reason: 0x8e }))).toMatchObject({ kind: 'fail', reasonCode: ReasonCode.NotAuthorized }); // session taken over: not a CONNACK code
    expect(interpretAnswer(403, Buffer.from('nope'))).toMatchObject({ kind: 'fail', reasonCode: ReasonCode.NotAuthorized });
  });

  it('every other status is no decision (422 lists the versions the server speaks)', () => {
    expect(interpretAnswer(422, json({ supportedVersions: ['0.6.0'] }))).toMatchObject({ kind: 'noDecision', problem: expect.stringContaining('0.6.0') });
    expect(interpretAnswer(500, Buffer.from('boom'))).toMatchObject({ kind: 'noDecision', problem: 'the server answered HTTP 500: boom' });
    expect(interpretAnswer(400, Buffer.alloc(0))).toMatchObject({ kind: 'noDecision', problem: 'the server answered HTTP 400' });
    expect(interpretAnswer(401, Buffer.alloc(0))).toMatchObject({ kind: 'noDecision' });
    expect(interpretAnswer(302, Buffer.alloc(0))).toMatchObject({ kind: 'noDecision' });
  });
});

describe('Custom authentication: request body and settings', () => {
  it('forwards username, base64 password, the client certificate as PEM and enhanced authentication', () => {
    const raw = Buffer.alloc(100, 7);
    const issuer = Buffer.alloc(80, 9);
    const body = connectRequestBody({
      connection: { clientCertificate: { subject: { CN: 'dev1' }, raw, chain: [raw, issuer] } },
      clientId: 'c1',
      username: 'u',
      password: Buffer.from([0, 255, 1]),
      protocolVersion: 5,
      authenticationMethod: 'CUSTOM-X',
      authenticationData: Buffer.from('tok'),
    });
    expect(body).toEqual({
      type: 'connect',
      username: 'u',
      password: Buffer.from([0, 255, 1]).toString('base64'),
      certs: derToPem(raw) + derToPem(issuer),
      enhancedAuthentication: { method: 'CUSTOM-X', data: Buffer.from('tok').toString('base64') },
    });
    expect(derToPem(raw)).toMatch(/^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+\n-----END CERTIFICATE-----\n$/);
    const leafOnly = connectRequestBody({ connection: { clientCertificate: { subject: {}, raw, chain: [] } }, clientId: 'c', username: undefined, password: undefined, protocolVersion: 5, authenticationMethod: undefined, authenticationData: undefined });
    expect(leafOnly.certs).toBe(derToPem(raw));
    const bare = connectRequestBody({ connection: {}, clientId: 'c', username: undefined, password: undefined, protocolVersion: 4, authenticationMethod: undefined, authenticationData: undefined });
    expect(bare).toEqual({ type: 'connect' });
  });

  it('adds api-version to the endpoint and keeps its query; refuses unusable endpoints and headers', () => {
    const s = readCustomSettings(custom({ endpoint: 'https://auth.local:8443/v1/check?tenant=a#x', caCertConfigMap: 'ca', auth: { x509: { secretRef: 'me' } }, headers: { 'x-key': 'k' } }));
    expect(s.url?.toString()).toBe('https://auth.local:8443/v1/check?tenant=a&api-version=0.5.0');
    expect(s).toMatchObject({ where: 'https://auth.local:8443/v1/check', caRef: 'ca', clientCertRef: 'me', headers: { 'x-key': 'k' }, problem: undefined });
    expect(readCustomSettings(custom({ endpoint: 'https://user:secret@h/' })).where).toBe('https://h/');
    expect(readCustomSettings(custom({ endpoint: 'http://h/' })).problem).toMatch(/https/);
    expect(readCustomSettings(custom({ endpoint: 'https://' })).problem).toMatch(/not a valid URL/);
    expect(readCustomSettings({ method: 'Custom' }).problem).toMatch(/endpoint is missing/);
    const bad = readCustomSettings(custom({ endpoint: 'https://h/', headers: { 'x-key': 'a\r\nInjected: 1' } }));
    expect(bad.url).toBeUndefined();
    expect(bad.problem).toBe("customSettings.headers: the value of 'x-key' has characters HTTP headers cannot carry");
    expect(readCustomSettings(custom({ endpoint: 'https://h/', headers: { 'bad name': 'v' } })).problem).toMatch(/not a valid HTTP header name/);
  });

  it('reads OPS_CUSTOM_AUTH_TIMEOUT_MS within bounds', () => {
    expect(customAuthTimeoutMs({})).toEqual({ timeoutMs: DEFAULT_CUSTOM_AUTH_TIMEOUT_MS });
    expect(customAuthTimeoutMs({ OPS_CUSTOM_AUTH_TIMEOUT_MS: '250' })).toEqual({ timeoutMs: 250 });
    expect(customAuthTimeoutMs({ OPS_CUSTOM_AUTH_TIMEOUT_MS: '5' }).problem).toMatch(/from 100 to 60000/);
    expect(customAuthTimeoutMs({ OPS_CUSTOM_AUTH_TIMEOUT_MS: 'soon' })).toMatchObject({ timeoutMs: DEFAULT_CUSTOM_AUTH_TIMEOUT_MS });
  });
});
