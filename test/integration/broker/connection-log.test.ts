import { afterEach, describe, expect, it } from 'vitest';
import { CONNECT_REFUSAL_LINES } from '../../../src/broker/handlers/connect.js';
import { ReasonCode } from '../../../src/protocol/reason-codes.js';
import { within } from '../../helpers/bad-input.js';
import { RawClient } from '../../helpers/raw-client.js';
import { levelLogger, type RecordedLine } from '../../helpers/recording-logger.js';
import { useBroker } from '../../helpers/start-broker.js';

const brokers = useBroker();
const raws: RawClient[] = [];
afterEach(() => {
  for (const raw of raws.splice(0)) raw.socket.destroy();
});

async function start(level: 'debug' | 'info' = 'info'): Promise<{ log: ReturnType<typeof levelLogger>; port: number }> {
  const log = levelLogger(level);
  const running = await brokers.start({ logger: log });
  return { log, port: running.port };
}

async function raw(port: number, version: 4 | 5 = 5): Promise<RawClient> {
  const client = await RawClient.open(port, version);
  raws.push(client);
  return client;
}

const disconnectOf = (clientId: string) => (line: RecordedLine) => line.message.startsWith('client disconnected') || line.message === 'client connection lost' ? line.fields['clientId'] === clientId : false;

describe('connection lifecycle log lines', () => {
  it('logs an accepted CONNECT at info: remote address, port, client id, protocol, clean start, keep-alive', async () => {
    const { log, port } = await start();
    const client = await raw(port, 4);
    expect((await client.connect({ clientId: 'logged-1', keepalive: 42, clean: false })).returnCode).toBe(0);
    const line = await within(log.waitFor((l) => l.message === 'client connected' && l.fields['clientId'] === 'logged-1'), 3000, 'connect line');
    expect(line.level).toBe('info');
    expect(line.fields).toMatchObject({ remoteAddress: '127.0.0.1', port, protocol: 'MQTT 3.1.1', cleanStart: false, keepAlive: 42, sessionPresent: false });
  });

  it('logs a client DISCONNECT with its reason code', async () => {
    const { log, port } = await start();
    const client = await raw(port);
    await client.connect({ clientId: 'leaves' });
    client.send({ cmd: 'disconnect', reasonCode: ReasonCode.DisconnectWithWill });
    const line = await within(log.waitFor(disconnectOf('leaves')), 3000, 'disconnect line');
    expect(line).toMatchObject({ level: 'info', message: 'client disconnected', fields: { by: 'client', reasonCode: '0x04', reason: 'disconnect with will' } });
  });

  it('logs a takeover as a server disconnect 0x8E', async () => {
    const { log, port } = await start();
    const first = await raw(port);
    await first.connect({ clientId: 'twin' });
    const second = await raw(port);
    await second.connect({ clientId: 'twin' });
    const line = await within(log.waitFor(disconnectOf('twin')), 3000, 'takeover line');
    expect(line.fields).toMatchObject({ by: 'server', reasonCode: '0x8E', reason: 'session taken over' });
  });

  it('logs a keep-alive timeout as 0x8D', async () => {
    const { log, port } = await start();
    const client = await raw(port);
    await client.connect({ clientId: 'silent', keepalive: 1 });
    const line = await within(log.waitFor(disconnectOf('silent')), 5000, 'keep-alive line');
    expect(line.fields).toMatchObject({ by: 'server', reasonCode: '0x8D', reason: 'keep alive timeout' });
  });

  it('logs a socket closed without DISCONNECT as a lost connection', async () => {
    const { log, port } = await start();
    const client = await raw(port);
    await client.connect({ clientId: 'vanishes' });
    client.socket.destroy();
    const line = await within(log.waitFor(disconnectOf('vanishes')), 3000, 'lost line');
    expect(line).toMatchObject({ message: 'client connection lost', fields: { by: 'network', reason: 'connection closed without DISCONNECT' } });
  });

  it('logs a server-initiated disconnect with its reason code and reason string', async () => {
    const { log, port } = await start();
    const client = await raw(port);
    await client.connect({ clientId: 'twice' });
    client.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'twice' });
    const line = await within(log.waitFor(disconnectOf('twice')), 3000, 'protocol error line');
    expect(line).toMatchObject({ message: 'client disconnected by the server', fields: { by: 'server', reasonCode: '0x82', reason: 'protocol error', detail: 'second CONNECT' } });
  });

  it('logs SUBSCRIBE and UNSUBSCRIBE filters with their codes at debug, and nothing per PUBLISH', async () => {
    const { log, port } = await start('debug');
    const client = await raw(port);
    await client.connect({ clientId: 'subber' });
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/#', qos: 1 }, { topic: 'bad/#/x', qos: 0 }] });
    expect((await client.next())?.cmd).toBe('suback');
    const subscribed = await within(log.waitFor((l) => l.message === 'client subscribed'), 3000, 'subscribe line');
    expect(subscribed).toMatchObject({ level: 'debug', fields: { clientId: 'subber', filters: ['a/#=0x01', 'bad/#/x=0x8F'] } });
    const before = log.lines.length;
    for (let i = 0; i < 20; i++) client.send({ cmd: 'publish', topic: 'a/b', payload: Buffer.from('x'), qos: 0, retain: false, dup: false });
    client.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['a/#', 'never'] });
    const unsubscribed = await within(log.waitFor((l) => l.message === 'client unsubscribed'), 3000, 'unsubscribe line');
    expect(unsubscribed.fields).toMatchObject({ clientId: 'subber', filters: ['a/#=0x00', 'never=0x11'] });
    expect(log.lines.slice(before).map((l) => l.message)).toEqual(['client unsubscribed']); // the PUBLISHes wrote no line
  });

  it('rate-limits the lines of refused CONNECTs (a flood of bad CONNECTs writes no flood of lines)', async () => {
    const { log, port } = await start();
    for (let i = 0; i < CONNECT_REFUSAL_LINES + 5; i++) {
      const client = await raw(port);
      const will = { topic: 'wild/#', payload: Buffer.from('x'), qos: 0 as const, retain: false }; // a will topic may hold no wildcard
      expect((await client.connect({ clientId: `bad-will-${i}`, will })).reasonCode).toBe(ReasonCode.TopicNameInvalid);
      await client.closed;
    }
    const refused = log.lines.filter((l) => l.message === 'connection refused');
    expect(refused).toHaveLength(CONNECT_REFUSAL_LINES);
    expect(refused[0]?.fields).toMatchObject({ remoteAddress: '127.0.0.1', reasonCode: ReasonCode.TopicNameInvalid });
  });

  it('does not log a refused authentication a second time (the security layer logs it, rate-limited)', async () => {
    const log = levelLogger('info');
    const running = await brokers.start({ logger: log, hooks: { authenticate: () => ({ reasonCode: ReasonCode.BadUserNameOrPassword }) } });
    const client = await raw(running.port);
    expect((await client.connect({ clientId: 'guesser' })).reasonCode).toBe(ReasonCode.BadUserNameOrPassword);
    await client.closed;
    expect(log.lines.filter((l) => l.message.startsWith('connection refused') || l.fields['clientId'] === 'guesser')).toEqual([]);
  });

  it('builds no subscription line when debug is off', async () => {
    const { log, port } = await start('info');
    const client = await raw(port);
    await client.connect({ clientId: 'quiet' });
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 0 }] });
    expect((await client.next())?.cmd).toBe('suback');
    expect(log.lines.filter((l) => l.message.includes('subscribed'))).toEqual([]);
  });
});
