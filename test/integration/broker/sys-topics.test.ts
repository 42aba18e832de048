import { describe, expect, it } from 'vitest';
import { MemoryBrokerStore } from '../../../src/storage/memory/memory-broker-store.js';
import { nextMessage } from '../../helpers/start-broker.js';
import { useRawBroker } from '../../helpers/raw-broker.js';

const { start } = useRawBroker();

describe('$SYS topics', () => {
  it('are served from memory and never written to the store', async () => {
    const store = new MemoryBrokerStore();
    const running = await start({ store, sysIntervalSeconds: 1 });
    const client = await running.connect({ protocolVersion: 5, clientId: 'sys-reader' });
    const got = nextMessage(client);
    await client.subscribeAsync('$SYS/broker/clients/maximum');
    const { payload, packet } = await got;
    expect(packet.retain).toBe(true);
    expect(payload.toString()).toMatch(/^\d+$/);
    await client.publishAsync('kept', 'v', { qos: 1, retain: true });
    const stored = (await store.loadRetained()).map((m) => m.topic);
    expect(stored).toEqual(['kept']);
  });

  it('clients/maximum is the most clients connected at once, not the connection count', async () => {
    const running = await start();
    const a = await running.connect({ clientId: 'a' });
    const b = await running.connect({ clientId: 'b' });
    await a.endAsync();
    await b.endAsync();
    await running.connect({ clientId: 'c' });
    const stats = running.broker.stats().clients;
    expect(stats.maxConnected).toBe(2);
    expect(stats.totalConnections).toBe(3);
  });

  it('stats count $SYS retained messages and in-process services\' subscriptions apart, as the broker\'s (system), within the totals', async () => {
    const running = await start({ sysIntervalSeconds: 60 });
    const service = running.broker.createLocalClient('$test-service');
    service.subscribe('service/requests/#', 1, () => undefined);
    const client = await running.connect({ protocolVersion: 5, clientId: 'user' });
    await client.subscribeAsync('user/a');
    await client.publishAsync('user/kept', 'v', { qos: 1, retain: true });
    const stats = running.broker.stats();
    expect(stats.system.subscriptions).toBe(1);
    expect(stats.subscriptions - stats.system.subscriptions).toBe(1);
    expect(stats.system.retained).toBeGreaterThan(0); // the $SYS/broker/... topics published at start
    expect(stats.retained - stats.system.retained).toBe(1);
    await client.publishAsync('user/kept', '', { qos: 1, retain: true }); // removes it
    service.close();
    const after = running.broker.stats();
    expect(after.retained - after.system.retained).toBe(0);
    expect(after.system.subscriptions).toBe(0);
  });
});
