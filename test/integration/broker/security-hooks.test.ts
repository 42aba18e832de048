import { createServer, type Server } from 'node:net';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import type { BrokerHooks, ClientIdentity } from '../../../src/broker/hooks.js';
import { ReasonCode } from '../../../src/protocol/reason-codes.js';
import { useBroker } from '../../helpers/start-broker.js';

const brokers = useBroker();
let server: Server | undefined;
const clients: mqtt.MqttClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true).catch(() => undefined);
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A second port whose connections get their own hooks, as a listener port naming authn/authz does. */
async function securedPort(hooks: BrokerHooks): Promise<number> {
  const broker = brokers.current().broker;
  server = createServer((socket) => broker.attach(socket, { hooks, info: { listener: 'secure', port: 0, remoteAddress: socket.remoteAddress ?? '' } }));
  await new Promise<void>((resolve) => (server as Server).listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function connect(port: number, options: mqtt.IClientOptions): Promise<mqtt.MqttClient> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, reconnectPeriod: 0, ...options });
  clients.push(client);
  return client;
}

describe('per-connection authentication and authorization hooks', () => {
  const seen: ClientIdentity[] = [];
  const hooks: BrokerHooks = {
    authenticate: (request) =>
      request.username === 'alice' && request.password?.toString() === 'secret'
        ? { reasonCode: ReasonCode.Success, attributes: { building: 'b1', listener: request.connection.listener ?? '' } }
        : { reasonCode: ReasonCode.BadUserNameOrPassword, reasonString: 'bad credentials' },
    authorizePublish: (client, topic) => {
      seen.push(client);
      return topic.startsWith(`sensors/${client.attributes['building'] ?? '?'}/`);
    },
    authorizeSubscribe: (_client, filter) => !filter.startsWith('secret/'),
  };

  it('refuses bad credentials with 0x86 on the secured port only', async () => {
    const running = await brokers.start();
    const port = await securedPort(hooks);
    await expect(connect(port, { username: 'alice', password: 'wrong' })).rejects.toMatchObject({ code: ReasonCode.BadUserNameOrPassword });
    expect(running.broker.stats().clients.rejectedConnections).toBe(1);
    const open = await connect(running.port, { username: 'anyone', password: 'x' }); // the plain port has no hooks
    expect(open.connected).toBe(true);
  });

  it('authorizes with the attributes authentication established; denied publishes get 0x87, denied subscriptions 0x87', async () => {
    const running = await brokers.start();
    const port = await securedPort(hooks);
    const alice = await connect(port, { username: 'alice', password: 'secret', clientId: 'alice-1' });
    const watcher = await connect(running.port, { clientId: 'watcher' });
    await watcher.subscribeAsync('sensors/#', { qos: 1 });
    const delivered = new Promise<string>((resolve) => watcher.once('message', (topic) => resolve(topic)));
    await alice.publishAsync('sensors/b1/t', 'x', { qos: 1 });
    expect(await delivered).toBe('sensors/b1/t');
    await expect(alice.publishAsync('sensors/b2/t', 'x', { qos: 1 })).rejects.toMatchObject({ code: ReasonCode.NotAuthorized });
    expect((await alice.subscribeAsync('open/t', { qos: 1 })).map((g) => g.qos)).toEqual([1]);
    await expect(alice.subscribeAsync('secret/t', { qos: 1 })).rejects.toThrow(/Not authorized/);
    expect(seen[0]).toEqual({ clientId: 'alice-1', username: 'alice', attributes: { building: 'b1', listener: 'secure' } });
    expect(running.broker.identityOf('alice-1')).toEqual(seen[0]);
  });
});
