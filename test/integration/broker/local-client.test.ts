import { describe, expect, it } from 'vitest';
import { collectMessages } from '../../helpers/start-broker.js';
import { useRawBroker } from '../../helpers/raw-broker.js';

const { start } = useRawBroker();

describe('LocalClient (in-process services)', () => {
  it('receives matching messages with their properties and sender, and can answer from its handler', async () => {
    const running = await start();
    const local = running.broker.createLocalClient('$service');
    const seen: string[] = [];
    local.subscribe('req/+', 1, (message) => {
      seen.push(`${message.topic}:${message.payload.toString()}:${message.senderId ?? '-'}`);
      // Publishing from the handler must not disturb the delivery of the request to other subscribers.
      void local.publish({ topic: `res/${message.topic.slice(4)}`, payload: Buffer.from(`re:${message.payload.toString()}`), qos: 1, retain: false });
    });
    const watcher = await running.connect({ protocolVersion: 5, clientId: 'watcher' });
    await watcher.subscribeAsync(['req/+', 'res/+'], { qos: 1, nl: true });
    const got = collectMessages(watcher, 4);
    const client = await running.connect({ protocolVersion: 5, clientId: 'asker' });
    await client.publishAsync('req/a', 'one', { qos: 1 });
    await client.publishAsync('req/b', 'two', { qos: 1 });
    const messages = (await got).map((m) => `${m.topic}=${m.payload.toString()}`).sort();
    expect(messages).toEqual(['req/a=one', 'req/b=two', 'res/a=re:one', 'res/b=re:two']);
    expect(seen).toEqual(['req/a:one:asker', 'req/b:two:asker']);
  });

  it('publishes reach subscribers that use No Local, and the local client is gone after close', async () => {
    const running = await start();
    const local = running.broker.createLocalClient('$service2');
    let calls = 0;
    local.subscribe('x', 0, () => calls++);
    const sub = await running.connect({ protocolVersion: 5, clientId: 'nl' });
    await sub.subscribeAsync('out', { qos: 1, nl: true });
    const got = collectMessages(sub, 1);
    await local.publish({ topic: 'out', payload: Buffer.from('hi'), qos: 1, retain: false });
    expect((await got)[0]?.payload.toString()).toBe('hi');
    const subs = running.broker.stats().subscriptions;
    local.close();
    expect(running.broker.stats().subscriptions).toBe(subs - 1);
    await sub.publishAsync('x', 'ignored', { qos: 1 });
    expect(calls).toBe(0);
  });
});
