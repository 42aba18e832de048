import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBystanders, expectBystandersServed, within, type Bystanders } from '../helpers/bad-input.js';
import { childBrokerAvailable, CHILD_DIST_MODULE } from '../helpers/child-broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { ChildTarget } from './child-target.js';
import { connectModel, publishModel, STATE_STORE_REQUEST_TOPIC, type WillFields } from './corpus.js';
import { encodePacket, type Prop } from './packet-model.js';

/**
 * The broker in a child process must survive every packet sequence of the adversarial suite: the
 * test fails when the process ends (an error that reached `uncaughtException` or
 * `unhandledRejection`: the child has no handler for them). The sequences below carry repeated v5
 * properties into wills, retained messages, queued messages and state store requests; whether the
 * broker refuses them at decode time (0x82) or contains them later, the process stays up, a healthy
 * pair still round-trips, and the subscribers on the topics concerned are not disconnected.
 */
const s = (text: string): Buffer => Buffer.from(text, 'utf8');
const CONTENT_TYPE_TWICE: Prop[] = [{ id: 0x03, value: s('a') }, { id: 0x03, value: s('b') }];
const CORRELATION_DATA_TWICE: Prop[] = [{ id: 0x09, value: Buffer.from([1]) }, { id: 0x09, value: Buffer.from([2]) }];

let target: ChildTarget;
let bystanders: Bystanders;
let watcher: MqttClient;
/** DISCONNECTs and closes the watcher got: must stay 0. */
let watcherDropped = 0;

/** Resolves with the payload of the next message the watcher gets on `topic`. */
function messageOn(client: MqttClient, topic: string): Promise<string> {
  return new Promise((resolve) => {
    const onMessage = (t: string, payload: Buffer): void => {
      if (t !== topic) return;
      client.off('message', onMessage);
      resolve(payload.toString());
    };
    client.on('message', onMessage);
  });
}

/** Connects with `will` (raw bytes, so repeated properties go out as they are), then drops the socket without DISCONNECT. */
async function connectAndVanish(clientId: string, will: WillFields): Promise<void> {
  const raw = await RawClient.open(target.port, 5);
  raw.sendBytes(encodePacket(connectModel(5, { clientId, will })));
  await raw.next(); // CONNACK (accepted, or refused once decode validation refuses the repeated property) or close
  raw.destroy(); // no DISCONNECT: the will is due
  await within(raw.closed, 5000, 'close');
}

/**
 * A valid will with the same delay, published after the bad one was due: once the watcher has it,
 * the broker has handled the bad one (closes are handled in order; equal delays fire in order).
 */
async function controlWill(delaySeconds: number): Promise<void> {
  const topic = `adv/control/${delaySeconds}`;
  const got = messageOn(watcher, topic);
  await connectAndVanish(`control-${delaySeconds}-${Date.now()}`, { topic, payload: s('control'), qos: 1, retain: false, props: [{ id: 0x18, value: delaySeconds }] });
  expect(await within(target.whileAlive(got), 10_000, 'control will')).toBe('control');
}

/** The process is alive, a healthy pair round-trips QoS 1, the watcher is connected and was never dropped. */
async function expectSurvived(): Promise<void> {
  target.assertAlive();
  await expectBystandersServed(bystanders);
  expect(watcher.connected).toBe(true);
  expect(watcherDropped).toBe(0);
}

const available = childBrokerAvailable();
if (!available) console.warn(`skipping the process-level test: ${CHILD_DIST_MODULE} is missing; run \`npm run build\` (npm test does)`);

describe.skipIf(!available)('the broker process survives the adversarial sequences', () => {
  beforeAll(async () => {
    target = await ChildTarget.start();
    bystanders = await connectBystanders(target, 'bystander/t', '-process');
    watcher = await target.connect({ protocolVersion: 5, clientId: 'watcher' });
    watcher.on('disconnect', () => watcherDropped++);
    watcher.on('close', () => watcherDropped++);
    await watcher.subscribeAsync('adv/#', { qos: 1 });
  });

  afterAll(async () => {
    await target?.stop();
  });

  it('a will with Content Type twice, published at once (socket closed without DISCONNECT)', async () => {
    await connectAndVanish('will-ct-now', { topic: 'adv/will/ct-now', payload: s('bye'), qos: 1, retain: false, props: CONTENT_TYPE_TWICE });
    await controlWill(0);
    await expectSurvived();
  });

  it('a will with Content Type twice, published after a Will Delay', async () => {
    await connectAndVanish('will-ct-delayed', { topic: 'adv/will/ct-delayed', payload: s('bye'), qos: 1, retain: false, props: [{ id: 0x18, value: 1 }, ...CONTENT_TYPE_TWICE] });
    await controlWill(1);
    await expectSurvived();
  });

  it('a will with Correlation Data twice, retained', async () => {
    await connectAndVanish('will-cd', { topic: 'adv/will/cd', payload: s('bye'), qos: 1, retain: true, props: CORRELATION_DATA_TWICE });
    await controlWill(0);
    const late = await target.connect({ protocolVersion: 5, clientId: 'late-will-subscriber' });
    await late.subscribeAsync('adv/will/#', { qos: 1 }); // the retained replay
    await expectSurvived();
    expect(late.connected).toBe(true);
  });

  it('a retained PUBLISH with Content Type twice, then new subscribers of its topic', async () => {
    const raw = await RawClient.open(target.port, 5);
    await raw.connect({ clientId: 'retainer' });
    raw.sendBytes(encodePacket(publishModel(5, 'adv/retained/x', s('poison'), 1, true, 1, CONTENT_TYPE_TWICE)));
    await raw.next(); // PUBACK (refused) or DISCONNECT
    raw.destroy();
    for (const qos of [0, 1] as const) {
      const sub = await target.connect({ protocolVersion: 5, clientId: `retained-sub-${qos}` });
      await sub.subscribeAsync('adv/retained/#', { qos });
      const got = messageOn(sub, 'adv/retained/ok');
      await bystanders.pub.publishAsync('adv/retained/ok', 'fine', { qos: 1 });
      expect(await within(got, 5000, 'message after the retained replay')).toBe('fine');
    }
    await expectSurvived();
  });

  it('a QoS 1 PUBLISH with Content Type twice to an offline persistent subscriber, which then resumes', async () => {
    const offline = await target.connect({ protocolVersion: 5, clientId: 'offline', clean: false, properties: { sessionExpiryInterval: 300 } });
    await offline.subscribeAsync('adv/queued/#', { qos: 1 });
    await offline.endAsync();
    const raw = await RawClient.open(target.port, 5);
    await raw.connect({ clientId: 'queuer' });
    raw.sendBytes(encodePacket(publishModel(5, 'adv/queued/x', s('poison'), 1, false, 1, CONTENT_TYPE_TWICE)));
    await raw.next();
    raw.destroy();
    const resumed = await target.connect({ protocolVersion: 5, clientId: 'offline', clean: false, properties: { sessionExpiryInterval: 300 } });
    const got = messageOn(resumed, 'adv/queued/ok');
    await bystanders.pub.publishAsync('adv/queued/ok', 'fine', { qos: 1 });
    expect(await within(got, 5000, 'message after resuming')).toBe('fine');
    expect(resumed.connected).toBe(true);
    await expectSurvived();
  });

  it('a state store request with Correlation Data twice', async () => {
    const raw = await RawClient.open(target.port, 5);
    await raw.connect({ clientId: 'ss-requester' });
    const request = publishModel(5, STATE_STORE_REQUEST_TOPIC, s('*2\r\n$3\r\nGET\r\n$1\r\nk\r\n'), 1, false, 1, [{ id: 0x08, value: s('adv/ss-reply') }, ...CORRELATION_DATA_TWICE]);
    raw.sendBytes(encodePacket(request));
    await raw.next();
    raw.destroy();
    await expectSurvived();
  });

  it('no error was contained along the way, and the process is still alive', async () => {
    expect(await target.sysFigure('$SYS/broker/errors/contained'), target.broker.stderr()).toBe(0);
    await expectSurvived();
  });
});
