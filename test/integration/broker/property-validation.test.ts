import { describe, expect, it } from 'vitest';
import { ReasonCode } from '../../../src/protocol/reason-codes.js';
import { expectClosed, expectDisconnect, pingBarrier, within } from '../../helpers/bad-input.js';
import { bin, connectBytes, P, prop, props, publishBytes, str, u32 } from '../../helpers/packet-bytes.js';
import { rawSubscribe } from '../../helpers/pubsub.js';
import { useRawBroker } from '../../helpers/raw-broker.js';
import { nextMessage } from '../../helpers/start-broker.js';

const { start, open, connect } = useRawBroker();

/** A will property section with one property given twice. */
const REPEATED_WILL_PROPERTIES: [name: string, section: Buffer][] = [
  ['Content Type', props(prop(P.contentType, str('text/plain')), prop(P.contentType, str('application/json')))],
  ['Correlation Data', props(prop(P.correlationData, bin([1])), prop(P.correlationData, bin([2])))],
  ['Content Type, with a Will Delay', props(prop(P.willDelay, u32(1)), prop(P.contentType, str('a')), prop(P.contentType, str('b')))],
];

describe('decode-time property validation', () => {
  for (const [name, section] of REPEATED_WILL_PROPERTIES) {
    it(`a will with ${name} twice: CONNACK 0x82, nothing published, the broker lives [MQTT-2.2.2-2]`, async () => {
      const running = await start();
      const watcher = await running.connect({ protocolVersion: 5, clientId: 'watcher' });
      await watcher.subscribeAsync('will/#', { qos: 1 });
      const raw = await open(5);
      raw.sendBytes(connectBytes({ clientId: 'twice', will: { topic: 'will/twice', qos: 1, properties: section, payload: Buffer.from('gone') } }));
      const answer = await raw.next();
      raw.destroy(); // no DISCONNECT: a will, had it been accepted, would be published now
      expect(answer).toMatchObject({ cmd: 'connack', reasonCode: ReasonCode.ProtocolError });
      await expectClosed(raw);
      // barrier: the first message the watcher gets on will/# is the marker sent after the close
      const got = nextMessage(watcher);
      const publisher = await running.connect({ protocolVersion: 5, clientId: 'marker' });
      await publisher.publishAsync('will/marker', 'marker', { qos: 1 });
      expect((await within(got, 5000, 'marker')).topic).toBe('will/marker');
      expect(running.broker.stats().clients.connected).toBe(2);
    });
  }

  it('a retained PUBLISH with Content Type twice is refused at intake (DISCONNECT 0x82) and not retained [MQTT-2.2.2-2]', async () => {
    const running = await start();
    const publisher = await connect(5, { clientId: 'poisoner' });
    publisher.sendBytes(
      publishBytes({ topic: 'poison/t', retain: true, properties: props(prop(P.contentType, str('a')), prop(P.contentType, str('b'))), payload: Buffer.from('bad') }),
    );
    await expectDisconnect(publisher, ReasonCode.ProtocolError);
    expect(running.broker.stats().retained).toBe(0);
    const subscriber = await connect(5, { clientId: 'late' });
    expect((await rawSubscribe(subscriber, [{ topic: '#', qos: 0 }])).granted).toEqual([0]);
    expect(await pingBarrier(subscriber)).toEqual([]); // no retained message, and still connected
  });
});
