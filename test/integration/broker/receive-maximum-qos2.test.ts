import mqttPacket, { type IDisconnectPacket, type IPublishPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { ReasonCode } from '../../../src/protocol/reason-codes.js';
import { useRawBroker } from '../../helpers/raw-broker.js';
import type { RawClient } from '../../helpers/raw-client.js';
import { drainUntilPong } from '../../helpers/session-helpers.js';

/*
 * The inbound Receive Maximum with QoS 2 PUBLISHes that are never released (the Paho v5 suite's
 * test_flow_control2): the client sends Receive Maximum + 1 of them without PUBREL and must get
 * DISCONNECT 0x93 [MQTT-3.3.4-7], also when its packet ids wrapped and the extra one reuses an id
 * that is not released yet: a new PUBLISH (DUP 0) on such an id is not a retransmission when the
 * quota is full [MQTT-3.3.4-9].
 */

const { start, open } = useRawBroker();
const RECEIVE_MAXIMUM = 3;

/** Raw bytes of a v5 QoS 2 PUBLISH. */
function qos2(messageId: number, payload: string, dup = false): Buffer {
  return mqttPacket.generate({ cmd: 'publish', topic: 'rm/q2', payload: Buffer.from(payload), qos: 2, messageId, retain: false, dup }, { protocolVersion: 5 });
}

/** A v5 client of a broker advertising RECEIVE_MAXIMUM, with QoS 2 ids 1..R received and not released. */
async function fullQuota(subscriber = false): Promise<{ pub: RawClient; sub: RawClient | undefined }> {
  await start({ clients: { maxReceiveMaximum: RECEIVE_MAXIMUM } });
  let sub: RawClient | undefined;
  if (subscriber) {
    sub = await open(5);
    await sub.connect({ clientId: 'rm-sub' });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'rm/#', qos: 0 }] });
    expect((await sub.nextOf('suback'))?.cmd).toBe('suback');
  }
  const pub = await open(5);
  expect((await pub.connect({ clientId: 'rm-pub' })).properties?.receiveMaximum).toBe(RECEIVE_MAXIMUM);
  return { pub, sub };
}

async function expectPubrec(raw: RawClient, messageId: number): Promise<void> {
  const packet = await raw.next();
  expect([packet?.cmd, packet?.messageId]).toEqual(['pubrec', messageId]);
}

async function expectReceiveMaximumExceeded(raw: RawClient): Promise<void> {
  const packet = (await raw.next()) as IDisconnectPacket | undefined;
  expect(packet?.cmd).toBe('disconnect');
  expect(packet?.reasonCode).toBe(ReasonCode.ReceiveMaximumExceeded);
  expect(await raw.next()).toBeUndefined();
}

describe('inbound Receive Maximum with unreleased QoS 2 PUBLISHes (Paho test_flow_control2)', () => {
  it('Receive Maximum + 1 without PUBREL, the last one reusing an unreleased id with DUP 0 (wrapped ids): DISCONNECT 0x93 [MQTT-3.3.4-9]', async () => {
    const { pub } = await fullQuota();
    const bytes: Buffer[] = [];
    for (let id = 1; id <= RECEIVE_MAXIMUM; id++) bytes.push(qos2(id, `m${id}`));
    bytes.push(qos2(1, `m${RECEIVE_MAXIMUM + 1}`)); // the client's ids wrapped: a new message on id 1
    pub.sendBytes(Buffer.concat(bytes));
    for (let id = 1; id <= RECEIVE_MAXIMUM; id++) await expectPubrec(pub, id);
    await expectReceiveMaximumExceeded(pub);
  });

  it('Receive Maximum + 1 without PUBREL on a fresh id: DISCONNECT 0x93 [MQTT-3.3.4-7]', async () => {
    const { pub } = await fullQuota();
    for (let id = 1; id <= RECEIVE_MAXIMUM + 1; id++) pub.sendBytes(qos2(id, `m${id}`));
    for (let id = 1; id <= RECEIVE_MAXIMUM; id++) await expectPubrec(pub, id);
    await expectReceiveMaximumExceeded(pub);
  });

  it('a retransmission (DUP 1) of an unreleased id while the quota is full is acknowledged, not refused, and not delivered again [MQTT-4.3.3-10]', async () => {
    const { pub, sub } = await fullQuota(true);
    for (let id = 1; id <= RECEIVE_MAXIMUM; id++) pub.sendBytes(qos2(id, `m${id}`));
    for (let id = 1; id <= RECEIVE_MAXIMUM; id++) await expectPubrec(pub, id);
    pub.sendBytes(qos2(2, 'm2', true));
    await expectPubrec(pub, 2);
    expect(await drainUntilPong(pub)).toEqual([]);
    const delivered = (await drainUntilPong(sub as RawClient)).map((p) => (p as IPublishPacket).payload.toString());
    expect(delivered).toEqual(['m1', 'm2', 'm3']);
  });

  it('a DUP 0 PUBLISH on an unreleased id below the quota is taken as a retransmission: PUBREC, not delivered again [MQTT-4.3.3-10]', async () => {
    const { pub, sub } = await fullQuota(true);
    pub.sendBytes(qos2(1, 'first'));
    await expectPubrec(pub, 1);
    pub.sendBytes(qos2(1, 'reused'));
    await expectPubrec(pub, 1);
    pub.send({ cmd: 'pubrel', messageId: 1 });
    expect((await pub.nextOf('pubcomp'))?.messageId).toBe(1);
    const delivered = (await drainUntilPong(sub as RawClient)).map((p) => (p as IPublishPacket).payload.toString());
    expect(delivered).toEqual(['first']);
  });
});
