import type { IConnackPacket, IDisconnectPacket, IPublishPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { ConnackReturnCode, ReasonCode } from '../../../src/protocol/reason-codes.js';
import { useRawBroker } from '../../helpers/raw-broker.js';
import { drainUntilPong, emptyIdPersistentConnect, within } from '../../helpers/session-helpers.js';
import { nextMessage } from '../../helpers/start-broker.js';

const { start, open } = useRawBroker();

describe('CONNECT: protocol versions', () => {
  it('serves MQTT 3.1.1 and 5.0 clients on the same listener, messages flowing both ways', async () => {
    const running = await start();
    const v5 = await running.connect({ protocolVersion: 5, clientId: 'v5' });
    const v4 = await running.connect({ protocolVersion: 4, clientId: 'v4' });
    await v5.subscribeAsync('x/to5', { qos: 1 });
    await v4.subscribeAsync('x/to4', { qos: 1 });
    const to5 = nextMessage(v5);
    const to4 = nextMessage(v4);
    await v4.publishAsync('x/to5', 'from-v4', { qos: 1 });
    await v5.publishAsync('x/to4', 'from-v5', { qos: 1 });
    expect((await to5).payload.toString()).toBe('from-v4');
    expect((await to4).payload.toString()).toBe('from-v5');
    expect(running.broker.stats().clients.connected).toBe(2);
  });

  it("refuses MQTT 3.1 ('MQIsdp', level 3) with CONNACK return code 1 and closes [MQTT-3.1.2-2]", async () => {
    const running = await start();
    const raw = await open(4);
    raw.send({ cmd: 'connect', protocolId: 'MQIsdp', protocolVersion: 3, clean: true, keepalive: 0, clientId: 'old' });
    const connack = (await raw.next()) as IConnackPacket;
    expect(connack.cmd).toBe('connack');
    expect(connack.returnCode).toBe(ConnackReturnCode.UnacceptableProtocolVersion);
    expect(connack.sessionPresent).toBe(false);
    expect(await raw.next()).toBeUndefined();
    expect(raw.isClosed).toBe(true);
    expect(running.broker.stats().clients.rejectedConnections).toBe(1);
  });

  it('closes a connection whose first packet is not CONNECT [MQTT-3.1.0-1]', async () => {
    await start();
    const raw = await open(5);
    raw.send({ cmd: 'pingreq' });
    expect(await raw.next()).toBeUndefined();
    expect(raw.isClosed).toBe(true);
    const raw4 = await open(4);
    raw4.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 0 }] });
    expect(await raw4.next()).toBeUndefined();
  });

  it('answers a second CONNECT with v5 DISCONNECT 0x82 and closes [MQTT-3.1.0-2]', async () => {
    await start();
    const raw = await open(5);
    await raw.connect({ clientId: 'twice' });
    raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'twice' });
    const packet = (await raw.next()) as IDisconnectPacket;
    expect(packet.cmd).toBe('disconnect');
    expect(packet.reasonCode).toBe(ReasonCode.ProtocolError);
    expect(await raw.next()).toBeUndefined();
  });

  it('closes a 3.1.1 client that sends a second CONNECT (no DISCONNECT in 3.1.1) [MQTT-3.1.0-2]', async () => {
    await start();
    const raw = await open(4);
    await raw.connect({ clientId: 'twice4' });
    raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'twice4' });
    expect(await raw.next()).toBeUndefined();
  });
});

describe('CONNACK properties (v5)', () => {
  it('advertises the defaults: packet size, topic alias maximum, shared/wildcard/subscription ids; no receive maximum at 65535', async () => {
    await start();
    const raw = await open(5);
    const connack = await raw.connect({ clientId: 'props' });
    expect(connack.reasonCode).toBe(ReasonCode.Success);
    expect(connack.sessionPresent).toBe(false);
    const p = connack.properties ?? {};
    expect(p.maximumPacketSize).toBe(64 * 1024 * 1024); // Medium profile
    expect(p.topicAliasMaximum).toBe(1024);
    expect(p.receiveMaximum).toBeUndefined(); // absent means 65535 [MQTT-3.2.2.3.3]
    expect(p.wildcardSubscriptionAvailable).toBe(true);
    expect(p.subscriptionIdentifiersAvailable).toBe(true);
    expect(p.sharedSubscriptionAvailable).toBe(true);
    expect(p.assignedClientIdentifier).toBeUndefined();
    expect(p.serverKeepAlive).toBeUndefined();
    expect(p.responseInformation).toBeUndefined();
    expect(p.sessionExpiryInterval).toBeUndefined();
  });

  it('advertises a configured Receive Maximum below 65535 and configured limits', async () => {
    await start({ clients: { maxReceiveMaximum: 10, maxPacketSizeBytes: 5000 }, topicAliasMaximum: 7 });
    const raw = await open(5);
    const p = (await raw.connect({ clientId: 'rm' })).properties ?? {};
    expect(p.receiveMaximum).toBe(10);
    expect(p.maximumPacketSize).toBe(5000);
    expect(p.topicAliasMaximum).toBe(7);
  });

  it('assigns a client identifier to an empty one [MQTT-3.1.3-6] [MQTT-3.2.2-16] and the session uses it', async () => {
    await start();
    const raw = await open(5);
    raw.sendBytes(emptyIdPersistentConnect(5, { sessionExpiryInterval: 60 }));
    const connack = (await raw.next()) as IConnackPacket;
    expect(connack.reasonCode).toBe(ReasonCode.Success);
    expect(connack.sessionPresent).toBe(false);
    const assigned = connack.properties?.assignedClientIdentifier;
    expect(assigned).toMatch(/^auto-[0-9a-f-]{36}$/);
    raw.send({ cmd: 'disconnect', reasonCode: ReasonCode.Success });
    await raw.closed;
    // reconnecting with the assigned id resumes that session
    const again = await open(5);
    const resumed = await again.connect({ clientId: assigned as string, clean: false, properties: { sessionExpiryInterval: 60 } });
    expect(resumed.sessionPresent).toBe(true);
    expect(resumed.properties?.assignedClientIdentifier).toBeUndefined();
    // two empty ids get two different identifiers
    const other = await open(5);
    expect((await other.connect({ clientId: '' })).properties?.assignedClientIdentifier).not.toBe(assigned);
  });

  it('refuses an empty client id on 3.1.1 with cleanSession=false: return code 2 and close [MQTT-3.1.3-8]', async () => {
    await start();
    const raw = await open(4);
    raw.sendBytes(emptyIdPersistentConnect(4));
    const connack = (await raw.next()) as IConnackPacket;
    expect(connack.cmd).toBe('connack');
    expect(connack.returnCode).toBe(ConnackReturnCode.IdentifierRejected);
    expect(connack.sessionPresent).toBe(false);
    expect(await raw.next()).toBeUndefined();
    // with cleanSession=true an empty id is accepted (no identifier is returned in 3.1.1)
    const ok = await open(4);
    expect((await ok.connect({ clientId: '', clean: true })).returnCode).toBe(ConnackReturnCode.Accepted);
  });

  it('sends Server Keep Alive when the client asks for more than maxKeepAliveSeconds, or for 0 [MQTT-3.2.2-21]', async () => {
    await start({ clients: { maxKeepAliveSeconds: 30 } });
    const more = await open(5);
    expect((await more.connect({ clientId: 'ka1', keepalive: 60 })).properties?.serverKeepAlive).toBe(30);
    const none = await open(5);
    expect((await none.connect({ clientId: 'ka2', keepalive: 0 })).properties?.serverKeepAlive).toBe(30);
    const less = await open(5);
    expect((await less.connect({ clientId: 'ka3', keepalive: 10 })).properties?.serverKeepAlive).toBeUndefined();
    const equal = await open(5);
    expect((await equal.connect({ clientId: 'ka4', keepalive: 30 })).properties?.serverKeepAlive).toBeUndefined();
  });

  it('returns Response Information only when requested', async () => {
    await start();
    const asked = await open(5);
    const info = (await asked.connect({ clientId: 'ri', properties: { requestResponseInformation: true } })).properties?.responseInformation;
    expect(info).toBe('responses/ri/');
    const notAsked = await open(5);
    expect((await notAsked.connect({ clientId: 'ri2', properties: { requestResponseInformation: false } })).properties?.responseInformation).toBeUndefined();
  });

  it('returns the capped Session Expiry Interval when the request exceeds maxSessionExpirySeconds', async () => {
    await start({ clients: { maxSessionExpirySeconds: 100 } });
    const capped = await open(5);
    expect((await capped.connect({ clientId: 'se1', clean: false, properties: { sessionExpiryInterval: 1000 } })).properties?.sessionExpiryInterval).toBe(100);
    const fine = await open(5);
    expect((await fine.connect({ clientId: 'se2', clean: false, properties: { sessionExpiryInterval: 50 } })).properties?.sessionExpiryInterval).toBeUndefined();
  });
});

describe('CONNECT property validation (v5)', () => {
  it.each([
    ['Receive Maximum 0', { receiveMaximum: 0 }],
    ['Maximum Packet Size 0', { maximumPacketSize: 0 }],
  ])('refuses %s with CONNACK 0x82 and closes (MQTT 5.0 3.1.2.11.3, 3.1.2.11.4)', async (_name, properties) => {
    const running = await start();
    const raw = await open(5);
    const connack = await raw.connect({ clientId: 'zero', properties });
    expect(connack.reasonCode).toBe(ReasonCode.ProtocolError);
    expect(connack.sessionPresent).toBe(false);
    expect(await raw.next()).toBeUndefined();
    expect(running.broker.stats().clients.sessions).toBe(0);
  });
});

describe('session takeover', () => {
  it('disconnects the old v5 connection with 0x8E and closes it; the new one works [MQTT-3.1.4-3]', async () => {
    const running = await start();
    const first = await open(5);
    await first.connect({ clientId: 'same' });
    const second = await open(5);
    const connack = await second.connect({ clientId: 'same' });
    expect(connack.reasonCode).toBe(ReasonCode.Success);
    const kicked = (await first.next()) as IDisconnectPacket;
    expect(kicked.cmd).toBe('disconnect');
    expect(kicked.reasonCode).toBe(ReasonCode.SessionTakenOver);
    expect(await first.next()).toBeUndefined();
    // the new connection serves a subscription
    second.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'tk', qos: 0 }] });
    expect((await second.next())?.cmd).toBe('suback');
    await running.broker.publish({ topic: 'tk', payload: Buffer.from('hi'), qos: 0, retain: false });
    const msg = (await second.next()) as IPublishPacket;
    expect(msg.cmd).toBe('publish');
    expect(msg.payload.toString()).toBe('hi');
    expect(running.broker.stats().clients.connected).toBe(1);
  });

  it('closes the old 3.1.1 connection on takeover', async () => {
    await start();
    const first = await open(4);
    await first.connect({ clientId: 'same4' });
    const second = await open(4);
    expect((await second.connect({ clientId: 'same4' })).returnCode).toBe(ConnackReturnCode.Accepted);
    expect(await first.next()).toBeUndefined();
    expect(await drainUntilPong(second)).toEqual([]);
  });
});

describe('keep alive', () => {
  it('closes a silent v5 client after 1.5x its keep alive with DISCONNECT 0x8D [MQTT-3.1.2-22]', async () => {
    await start();
    const raw = await open(5);
    const started = Date.now();
    await raw.connect({ clientId: 'silent', keepalive: 1 });
    const packet = (await within(raw.next(4000), 4000, 'keep-alive DISCONNECT')) as IDisconnectPacket;
    const elapsed = Date.now() - started;
    expect(packet.cmd).toBe('disconnect');
    expect(packet.reasonCode).toBe(ReasonCode.KeepAliveTimeout);
    expect(elapsed).toBeGreaterThanOrEqual(1450);
    expect(elapsed).toBeLessThan(2500);
    expect(await raw.next()).toBeUndefined();
  });

  it('closes a silent 3.1.1 client after 1.5x its keep alive [MQTT-3.1.2-24]', async () => {
    await start();
    const raw = await open(4);
    const started = Date.now();
    await raw.connect({ clientId: 'silent4', keepalive: 1 });
    await within(raw.closed, 4000, 'keep-alive close');
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(1450);
    expect(elapsed).toBeLessThan(2500);
  });

  it('keeps a client that sends PINGREQ within its keep alive [MQTT-3.12.4-1]', async () => {
    const running = await start();
    const raw = await open(5);
    await raw.connect({ clientId: 'pinger', keepalive: 1 });
    // 5 pings 500 ms apart span 2.5 s, well past the 1.5 s limit
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 500)); // the client's ping cadence, not a synchronisation
      raw.send({ cmd: 'pingreq' });
      expect((await raw.next(2000))?.cmd).toBe('pingresp');
    }
    expect(raw.isClosed).toBe(false);
    expect(running.broker.stats().clients.connected).toBe(1);
  });
});
