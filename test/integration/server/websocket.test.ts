import { connect as netConnect, createServer, type Server } from 'node:net';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { acceptWebSocket } from '../../../src/server/websocket.js';
import { useBroker } from '../../helpers/start-broker.js';

const brokers = useBroker();
let server: Server | undefined;
const clients: mqtt.MqttClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true).catch(() => undefined);
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A WebSockets port in front of a real broker, as the listener manager builds it. */
async function wsPort(): Promise<number> {
  const broker = (await brokers.start()).broker;
  server = createServer((socket) => acceptWebSocket(socket, (stream) => broker.attach(stream)));
  await new Promise<void>((resolve) => (server as Server).listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Sends raw bytes and resolves with everything the server answered before closing. */
function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = netConnect(port, '127.0.0.1', () => socket.write(bytes));
    let got = '';
    socket.on('data', (chunk: Buffer) => (got += chunk.toString('latin1')));
    socket.on('close', () => resolve(got));
    socket.on('error', () => undefined);
  });
}

describe('MQTT over WebSockets', () => {
  it('serves MQTT 5 over ws:// with subprotocol mqtt', async () => {
    const port = await wsPort();
    const client = await mqtt.connectAsync(`ws://127.0.0.1:${port}/mqtt`, { protocolVersion: 5, reconnectPeriod: 0 });
    clients.push(client);
    await client.subscribeAsync('ws/t', { qos: 1 });
    const got = new Promise<string>((resolve) => client.once('message', (_t, payload) => resolve(payload.toString())));
    await client.publishAsync('ws/t', 'over websockets', { qos: 1 });
    expect(await got).toBe('over websockets');
  });

  it('answers a plain HTTP request with 426 and closes garbage, while serving others', async () => {
    const port = await wsPort();
    expect(await rawExchange(port, 'GET /mqtt HTTP/1.1\r\nHost: x\r\n\r\n')).toMatch(/^HTTP\/1\.1 426/);
    await rawExchange(port, '\x00\x01garbage that is not HTTP\r\n\r\n');
    const client = await mqtt.connectAsync(`ws://127.0.0.1:${port}/mqtt`, { protocolVersion: 4, reconnectPeriod: 0 });
    clients.push(client);
    expect(client.connected).toBe(true);
  });
});
