import { afterEach, describe, expect, it } from 'vitest';
import { RawClient } from '../../helpers/raw-client.js';
import { nextMessage, startBroker, type RunningBroker } from '../../helpers/start-broker.js';

let running: RunningBroker | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

describe('smoke', () => {
  it('routes a v5 message and answers a raw CONNECT', async () => {
    running = await startBroker();
    const sub = await running.connect({ protocolVersion: 5 });
    await sub.subscribeAsync('t', { qos: 1 });
    const got = nextMessage(sub);
    const pub = await running.connect({ protocolVersion: 5 });
    await pub.publishAsync('t', 'x', { qos: 1 });
    expect((await got).payload.toString()).toBe('x');
    const raw = await RawClient.open(running.port, 5);
    const connack = await raw.connect({ clientId: '' });
    expect(connack.properties?.assignedClientIdentifier).toMatch(/^auto-/);
    raw.destroy();
  });
});
