import { appendFile } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { within } from '../helpers/bad-input.js';
import { eventually, OPS_BIN, portOf } from '../helpers/cli-ops.js';
import { connectClient } from '../helpers/cli-mqtt.js';
import { makeOpsInstance, type OpsInstance } from '../helpers/ops-instance.js';

let inst: OpsInstance;
let port: number;
const logs = (...args: string[]) => inst.ops('broker', 'logs', '--instance', inst.instance, ...args);

/** A CONNECT announcing 100000 bytes: refused at its fixed header, with a (rate-limited) warn line. */
function sendHugeConnect(): Promise<void> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1', () => socket.write(Buffer.from([0x10, 0xa0, 0x8d, 0x06])));
    socket.on('close', () => resolve());
    socket.on('error', () => undefined);
  });
}

beforeAll(async () => {
  inst = await makeOpsInstance('logs', 'info');
  port = portOf(await inst.status());
  const client = inst.track(await connectClient(port, { clientId: 'e2e-client', protocolVersion: 5 }));
  await client.subscribeAsync('plant/#', { qos: 1 });
  await client.endAsync();
  await sendHugeConnect();
  // The broker writes its lines as they happen: wait until the last of them is in broker.log.
  await eventually(async () => (await logs()).stdout.includes('CONNECT too large'), 10_000);
});
afterAll(async () => {
  await inst.cleanup();
});

describe('ops broker logs', () => {
  it('prints readable lines: the connection with address, listener, port and client id, and the disconnect reason', async () => {
    const r = await logs();
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines).toContainEqual(
      expect.stringMatching(new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  client connected remoteAddress=127\\.0\\.0\\.1 listener=default-insecure port=${port} clientId=e2e-client protocol="MQTT 5\\.0" cleanStart=true keepAlive=\\d+`)),
    );
    expect(lines).toContainEqual(expect.stringMatching(/ INFO  client disconnected .*clientId=e2e-client by=client reasonCode=0x00 reason="normal disconnection"$/));
    expect(r.stdout).not.toContain('{"level"'); // no raw JSON in the readable form
  });

  it('--level warn shows warnings and above only; -n takes the last lines; -o json passes the JSON lines through', async () => {
    const warn = await logs('--level', 'warn');
    expect(warn.exitCode).toBe(0);
    expect(warn.stdout).toMatch(/ WARN  connection refused: CONNECT too large remoteAddress=127\.0\.0\.1/);
    expect(warn.stdout).not.toContain(' INFO ');
    const last = await logs('-n', '1', '--level', 'info');
    expect(last.stdout.trim().split('\n')).toHaveLength(1);
    const json = await logs('-o', 'json', '--level', 'info');
    const records = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records).toContainEqual(expect.objectContaining({ msg: 'client connected', clientId: 'e2e-client', listener: 'default-insecure', port }));
    expect((await logs('--level', 'loud')).exitCode).toBe(2);
  });

  it('-f prints a line written after it started, and stops on SIGTERM with exit 0', async () => {
    const follower = execa(process.execPath, [OPS_BIN, 'broker', 'logs', '-f', '--instance', inst.instance], {
      env: { OPS_HOME: inst.home, NO_COLOR: '1' },
      reject: false,
      stdin: 'ignore',
      timeout: 30_000,
    });
    try {
      let seen = '';
      const printed = (text: string): Promise<void> =>
        new Promise((resolve) => {
          const check = (): void => {
            if (!seen.includes(text)) return;
            follower.stdout?.off('data', onData);
            resolve();
          };
          const onData = (chunk: Buffer): void => {
            seen += chunk.toString();
            check();
          };
          follower.stdout?.on('data', onData);
          check();
        });
      await within(printed('clientId=e2e-client'), 10_000, 'the existing lines'); // it has read the file: following now
      const later = await connectClient(port, { clientId: 'after-follow' });
      await later.endAsync();
      await within(printed('clientId=after-follow by=client'), 10_000, 'the new line');
      follower.kill('SIGTERM');
      const result = await follower;
      expect(result.exitCode).toBe(0);
      expect(result.stderr).toBe('');
    } finally {
      follower.kill('SIGKILL');
    }
  });

  it('works with the broker stopped, and prints plain (stderr) lines as they are', async () => {
    expect((await inst.ops('broker', 'stop', '--instance', inst.instance)).exitCode).toBe(0);
    await appendFile(join(inst.home, inst.instance, 'broker.log'), 'ops-broker: STO_LOCKED: the store is in use\n');
    const r = await logs('-n', '2');
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([expect.stringMatching(/ INFO  stopped$/), 'ops-broker: STO_LOCKED: the store is in use']);
  });
});
