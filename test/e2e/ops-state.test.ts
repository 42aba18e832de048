import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { passwdLine } from '../../src/security/passwd.js';
import { issueCert, makeCa, makeServerSecret, type CertFiles } from '../helpers/certs.js';
import { OPS_BIN, portOf } from '../helpers/cli-ops.js';

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
}

let home: string;
let port: number;
const env = (): Record<string, string> => ({ OPS_HOME: home, NO_COLOR: '1', OPS_START_TIMEOUT_MS: '15000' });

async function ops(...args: string[]): Promise<Run> {
  const r = await execa(process.execPath, [OPS_BIN, ...args], { env: env(), reject: false, stdin: 'ignore', timeout: 20_000, stripFinalNewline: false });
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** `ops state ...` against the test broker (explicit host and port, as statestore-cli takes them). */
const state = (...args: string[]) => ops('state', ...args, '-n', '127.0.0.1', '-p', String(port));

/** A port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

beforeAll(async () => {
  home = await mkdtemp('/tmp/ost-');
  const created = await ops('create', '--port', '0', '--secure-port', '0', '--yes');
  if (created.exitCode !== 0) throw new Error(`ops create failed: ${created.stderr}`);
  const status = await ops('broker', 'status', '-o', 'json');
  port = portOf(JSON.parse(status.stdout) as { ports: Array<{ listener: string; port: number }> });
});

afterAll(async () => {
  if (home === undefined) return;
  await ops('delete', '--yes');
  await rm(home, { recursive: true, force: true });
});

describe('ops state', () => {
  it('set, get, delete round trip with statestore-cli exit codes', async () => {
    expect(await state('set', '-k', 'color', '--value', 'red')).toMatchObject({ exitCode: 0, stdout: '' });
    expect(await state('get', '-k', 'color')).toMatchObject({ exitCode: 0, stdout: 'red\n' });
    const json = await state('get', '-k', 'color', '-o', 'json');
    expect(JSON.parse(json.stdout)).toMatchObject({ key: 'color', value: 'red', version: expect.stringMatching(/^\d{15}:\d{5}:.+$/) });
    expect((await state('delete', '-k', 'color')).exitCode).toBe(0);
    expect((await state('delete', '-k', 'color')).exitCode).toBe(1);
  });

  it('get of a missing key prints nothing and exits 1', async () => {
    expect(await state('get', '-k', 'never-set')).toMatchObject({ exitCode: 1, stdout: '', stderr: '' });
  });

  it('takes the port of the --instance broker when -p is not given', async () => {
    expect((await ops('state', 'set', '-k', 'implicit', '--value', 'yes')).exitCode).toBe(0);
    expect((await ops('state', 'get', '-k', 'implicit', '--instance', 'default')).stdout).toBe('yes\n');
  });

  it('set --nx on an existing key exits 1 and changes nothing; --nex with the same value applies', async () => {
    expect((await state('set', '-k', 'lock', '--value', 'a', '--nx', '--px', '60000')).exitCode).toBe(0);
    const refused = await state('set', '-k', 'lock', '--value', 'b', '--nx', '-o', 'json');
    expect(refused.exitCode).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ key: 'lock', applied: false });
    expect((await state('set', '-k', 'lock', '--value', 'b', '--nex')).exitCode).toBe(1);
    expect((await state('set', '-k', 'lock', '--value', 'a', '--nex')).exitCode).toBe(0);
    expect((await state('get', '-k', 'lock')).stdout).toBe('a\n');
  });

  it('-f FILE round-trips binary content exactly', async () => {
    const bytes = Buffer.from([0x00, 0xff, 0x0d, 0x0a, 0x24, 0x2d, 0x31, 0x0d, 0x0a, 0x80, 0xc3, 0x28, 0x0a]);
    const input = join(home, 'in.bin');
    const output = join(home, 'out.bin');
    await writeFile(input, bytes);
    expect((await state('set', '-k', 'blob', '-f', input)).exitCode).toBe(0);
    expect((await state('get', '-k', 'blob', '-f', output)).exitCode).toBe(0);
    expect(await readFile(output)).toEqual(bytes);
    const json = await state('get', '-k', 'blob', '-o', 'json');
    expect(Buffer.from((JSON.parse(json.stdout) as { valueBase64: string }).valueBase64, 'base64')).toEqual(bytes);
  });

  it('watch prints the SET and DELETE notifications caused by other ops state commands', async () => {
    const watch = execa(
      process.execPath,
      [OPS_BIN, 'state', 'watch', '-k', 'watched', '-n', '127.0.0.1', '-p', String(port)],
      { env: env(), reject: false },
    );
    let out = '';
    let err = '';
    const seen = (pattern: RegExp, of: () => string) =>
      new Promise<void>((resolve, reject) => {
        const check = () => pattern.test(of()) && resolve();
        watch.stdout?.on('data', check);
        watch.stderr?.on('data', check);
        void watch.then((r) => reject(new Error(`watch exited (${r.exitCode}) before ${pattern}: ${err}`)));
        check();
      });
    watch.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    watch.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
    try {
      await seen(/watching/, () => err);
      expect((await state('set', '-k', 'watched', '--value', 'hello world')).exitCode).toBe(0);
      expect((await state('delete', '-k', 'watched')).exitCode).toBe(0);
      await seen(/DELETE\n/, () => out);
      expect(out).toBe('SET hello world\nDELETE\n');
    } finally {
      watch.kill('SIGTERM');
    }
    expect((await watch).exitCode).toBe(0);
  });

  it('set/delete --notify print the notification of their own change', async () => {
    const set = await state('set', '-k', 'n', '--value', 'v1', '--notify', '-o', 'json');
    expect(set.exitCode).toBe(0);
    const [result, notification] = set.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(result).toMatchObject({ key: 'n', applied: true });
    expect(notification).toMatchObject({ key: 'n', operation: 'SET', value: 'v1', version: result?.['version'] });
    expect(await state('delete', '-k', 'n', '--notify')).toMatchObject({ exitCode: 0, stdout: 'DELETE\n' });
  });

  it('connection refused gives a coded error and a non-zero exit', async () => {
    const r = await ops('state', 'get', '-k', 'x', '-n', '127.0.0.1', '-p', String(await freePort()));
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Cannot connect to the MQTT broker at 127.0.0.1:');
    expect(r.stderr).toContain('connection refused');
    expect(r.stderr).toContain('(SST_CONNECT_FAILED, exit code 3)');
  });
});

describe('ops state vdel', () => {
  it('deletes only when the value matches: exit 0, else 1 (another value, or no key)', async () => {
    expect((await state('set', '-k', 'lease', '--value', 'me')).exitCode).toBe(0);
    expect(await state('vdel', '-k', 'lease', '--value', 'other')).toMatchObject({ exitCode: 1, stdout: '', stderr: "Not deleted: key 'lease' holds another value.\n" });
    const json = await state('vdel', '-k', 'lease', '--value', 'other', '-o', 'json');
    expect(json.exitCode).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({ key: 'lease', deleted: false, valueDiffers: true });
    expect((await state('get', '-k', 'lease')).stdout).toBe('me\n');
    expect(await state('vdel', '-k', 'lease', '--value', 'me', '--notify')).toMatchObject({ exitCode: 0, stdout: 'DELETE\n' });
    expect(await state('vdel', '-k', 'lease', '--value', 'me')).toMatchObject({ exitCode: 1, stdout: '', stderr: '' });
    const missing = await state('vdel', '-k', 'lease', '--value', 'me', '-o', 'json');
    expect(JSON.parse(missing.stdout)).toEqual({ key: 'lease', deleted: false });
  });

  it('takes the value from a file and needs exactly one of --value / -f', async () => {
    const input = join(home, 'vdel.bin');
    await writeFile(input, Buffer.from([0x00, 0xff, 0x0a]));
    expect((await state('set', '-k', 'vb', '-f', input)).exitCode).toBe(0);
    expect((await state('vdel', '-k', 'vb', '-f', input)).exitCode).toBe(0);
    const usage = await state('vdel', '-k', 'vb');
    expect(usage.exitCode).toBe(2);
    expect(usage.stderr).toContain('ops state vdel needs exactly one of --value VALUE or -f/--valuefile FILE.');
  });
});

describe('ops state over TLS and with credentials', () => {
  let serverCa: CertFiles;
  let device: CertFiles;
  let encryptedKey: string;
  let keyPassword: string;
  let passwordFile: string;
  let ports: { tls: number; secure: number; mtls: number };
  const apply = async (kind: string, name: string, value: unknown): Promise<void> => {
    const path = join(home, `${kind}-${name}.json`);
    await writeFile(path, JSON.stringify(value));
    const run = await ops('broker', kind, 'apply', '--name', name, '--config-file', path);
    if (run.exitCode !== 0) throw new Error(`ops broker ${kind} apply failed: ${run.stderr}`);
  };
  /** `ops state ...` on 127.0.0.1 and `port`. */
  const on = (port: number, ...args: string[]) => ops('state', ...args, '-n', '127.0.0.1', '-p', String(port));

  beforeAll(async () => {
    // Only the plain listener of create: room for the three listeners below (a broker has at most 3).
    expect((await ops('broker', 'listener', 'delete', '--name', 'default', '--yes')).exitCode).toBe(0);
    const secrets = join(home, 'default', 'secrets');
    serverCa = await makeServerSecret(join(secrets, 'srv'));
    const pki = join(home, 'pki');
    const clientCa = await makeCa(pki, 'clients', '/CN=Clients CA');
    device = await issueCert(pki, 'dev', clientCa, { subject: '/CN=dev1' });
    encryptedKey = join(pki, 'dev-encrypted.key');
    await promisify(execFile)('openssl', ['pkey', '-in', device.key, '-aes256', '-passout', 'pass:key secret', '-out', encryptedKey]);
    keyPassword = join(pki, 'key-password.txt');
    await writeFile(keyPassword, 'key secret\n');
    await mkdir(join(secrets, 'client-ca'), { recursive: true });
    await copyFile(clientCa.cert, join(secrets, 'client-ca', 'ca.crt'));
    await writeFile(join(secrets, 'passwd'), `${passwdLine('alice', 'pass word')}\n`);
    passwordFile = join(pki, 'password.txt');
    await writeFile(passwordFile, 'pass word\n');
    await apply('authn', 'local', { properties: { authenticationMethods: [{ method: 'X509', x509Settings: {} }] } });
    const tls = { mode: 'Manual', manual: { secretRef: 'srv' } };
    await apply('listener', 'tls', { properties: { ports: [{ port: 0, tls }] } });
    // one listener, two ports (AIO allows three listeners: default, tls, secure)
    await apply('listener', 'secure', { properties: { ports: [{ port: 0, authenticationRef: 'local' }, { port: 0, tls, authenticationRef: 'local' }] } });
    const status = JSON.parse((await ops('broker', 'status', '-o', 'json')).stdout) as { ports: Array<{ listener: string; port: number; tls?: boolean }> };
    const secured = status.ports.filter((p) => p.listener === 'secure');
    ports = { tls: portOf(status, 'tls'), secure: secured.find((p) => p.tls !== true)?.port ?? 0, mtls: secured.find((p) => p.tls === true)?.port ?? 0 };
  });

  it('--tls with -T/--cafile talks to a TLS port; an untrusted certificate or plain MQTT does not connect', async () => {
    expect((await on(ports.tls, 'set', '-k', 'tls-key', '--value', 'over tls', '--tls', '--cafile', serverCa.cert)).exitCode).toBe(0);
    expect(await on(ports.tls, 'get', '-k', 'tls-key', '-T', serverCa.cert)).toMatchObject({ exitCode: 0, stdout: 'over tls\n' });
    const untrusted = await on(ports.tls, 'get', '-k', 'tls-key', '--tls');
    expect(untrusted.exitCode).toBe(3);
    expect(untrusted.stderr).toContain('(SST_CONNECT_FAILED, exit code 3)');
    expect(untrusted.stderr).toMatch(/certificate/);
    const plain = await on(ports.tls, 'get', '-k', 'tls-key', '--notls');
    expect(plain.exitCode).toBe(3);
    expect(plain.stderr).toContain('SST_CONNECT_FAILED');
  });

  it('-u with --password-file or --password on a password-authenticated port; wrong or missing credentials are refused', async () => {
    expect((await on(ports.secure, 'set', '-k', 'pw-key', '--value', 'v', '-u', 'alice', '--password-file', passwordFile)).exitCode).toBe(0);
    expect(await on(ports.secure, 'get', '-k', 'pw-key', '-u', 'alice', '--password', 'pass word')).toMatchObject({ exitCode: 0, stdout: 'v\n' });
    const wrong = await on(ports.secure, 'get', '-k', 'pw-key', '-u', 'alice', '--password', 'nope');
    expect(wrong.exitCode).toBe(3);
    expect(wrong.stderr).toContain('Cannot connect to the MQTT broker at 127.0.0.1:');
    expect(wrong.stderr).toContain('(SST_CONNECT_FAILED, exit code 3)');
    expect((await on(ports.secure, 'get', '-k', 'pw-key')).exitCode).toBe(3);
  });

  it('-C/-K/-P present a client certificate (encrypted key) for X.509 authentication', async () => {
    const cert = ['-T', serverCa.cert, '-C', device.cert, '-K', encryptedKey, '-P', keyPassword];
    expect((await on(ports.mtls, 'set', '-k', 'cert-key', '--value', 'by cert', ...cert)).exitCode).toBe(0);
    expect(await on(ports.mtls, 'get', '-k', 'cert-key', ...cert)).toMatchObject({ exitCode: 0, stdout: 'by cert\n' });
    expect((await on(ports.mtls, 'get', '-k', 'cert-key', '-T', serverCa.cert)).exitCode).toBe(3); // no certificate: refused
    const noPassword = await on(ports.mtls, 'get', '-k', 'cert-key', '-T', serverCa.cert, '-C', device.cert, '-K', encryptedKey);
    expect(noPassword.exitCode).toBe(2);
    expect(noPassword.stderr).toContain(`-K/--keyfile ${encryptedKey} is not a readable PEM private key (an encrypted key needs -P/--keypasswordfile)`);
  });

  it('rejects contradictory or incomplete security flags as usage errors (exit 2)', async () => {
    const cases: Array<[string[], string]> = [
      [['--notls', '--tls'], '--notls cannot be used with --tls, -T/--cafile or -C/--certfile.'],
      [['-C', device.cert], '-C/--certfile and -K/--keyfile go together.'],
      [['--tls', '-P', keyPassword], '-P/--keypasswordfile needs -K/--keyfile.'],
      [['-T', join(home, 'missing.pem')], `${join(home, 'missing.pem')} does not exist.`],
      [['-T', passwordFile], `-T/--cafile ${passwordFile} is not a PEM certificate`],
      [['-u', 'alice', '--password', 'x', '--password-file', passwordFile], 'cannot be used with option'],
    ];
    const runs = await Promise.all(cases.map(([flags]) => on(ports.secure, 'get', '-k', 'k', ...flags))); // refused before connecting: independent
    cases.forEach(([flags, message], i) => expect([flags, runs[i]?.exitCode, runs[i]?.stderr]).toEqual([flags, 2, expect.stringContaining(message)]));
  });
});
