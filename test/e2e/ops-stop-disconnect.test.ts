import type { IDisconnectPacket } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReasonCode } from '../../src/protocol/reason-codes.js';
import { within } from '../helpers/bad-input.js';
import { portOf } from '../helpers/cli-ops.js';
import { connectClient } from '../helpers/cli-mqtt.js';
import { makeOpsInstance, type OpsInstance } from '../helpers/ops-instance.js';
import { RawClient } from '../helpers/raw-client.js';

let inst: OpsInstance;
beforeAll(async () => {
  inst = await makeOpsInstance('stopping');
});
afterAll(async () => {
  await inst.cleanup();
});

describe('ops broker stop', () => {
  it('sends v5 clients DISCONNECT 0x8B (Server shutting down) before closing, and closes 3.1.1 clients [MQTT-3.14.2-1]', async () => {
    const port = portOf(await inst.status());
    const raw = await RawClient.open(port, 5);
    expect((await raw.connect({ clientId: 'raw-v5' })).reasonCode).toBe(0);
    const v4 = await RawClient.open(port, 4);
    expect((await v4.connect({ clientId: 'raw-v4' })).returnCode).toBe(0);
    const mqttjs = inst.track(await connectClient(port, { protocolVersion: 5, clientId: 'mqttjs-v5' }));
    const mqttjsDisconnect = new Promise<IDisconnectPacket>((resolve) => mqttjs.once('disconnect', resolve));

    const stopped = await inst.ops('broker', 'stop', '--instance', inst.instance);
    expect(stopped.exitCode).toBe(0);

    const packet = await raw.next();
    expect(packet?.cmd).toBe('disconnect');
    expect((packet as IDisconnectPacket).reasonCode).toBe(ReasonCode.ServerShuttingDown);
    await within(raw.closed, 3000, 'v5 close');
    expect((await within(mqttjsDisconnect, 3000, 'mqtt.js DISCONNECT')).reasonCode).toBe(ReasonCode.ServerShuttingDown);
    expect(await v4.next()).toBeUndefined(); // 3.1.1 has no server DISCONNECT: closed without a packet
  });
});
