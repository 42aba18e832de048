import { describe, expect, it } from 'vitest';
import { nextMessage } from '../../helpers/start-broker.js';
import { useRawBroker } from '../../helpers/raw-broker.js';

const { start, open } = useRawBroker();

describe('smoke', () => {
  it('routes a v5 message and answers a raw CONNECT', async () => {
    const running = await start();
    const sub = await running.connect({ protocolVersion: 5 });
    await sub.subscribeAsync('t', { qos: 1 });
    const got = nextMessage(sub);
    const pub = await running.connect({ protocolVersion: 5 });
    await pub.publishAsync('t', 'x', { qos: 1 });
    expect((await got).payload.toString()).toBe('x');
    const raw = await open(5);
    const connack = await raw.connect({ clientId: '' });
    expect(connack.properties?.assignedClientIdentifier).toMatch(/^auto-/);
    raw.destroy();
  });
});
