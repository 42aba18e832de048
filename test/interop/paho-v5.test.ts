/**
 * The Paho MQTT 5.0 interoperability cases (ported in paho-v5-cases.ts) against the standalone
 * broker (issue 15, acceptance 9: the reference the cluster runs are compared with).
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { startBroker, type RunningBroker } from '../helpers/start-broker.js';
import { definePahoCases } from './paho-run.js';
import { PAHO_ENGINE, standaloneTarget } from './paho-target.js';
import { V5_CASES } from './paho-v5-cases.js';

let broker: RunningBroker | undefined;

beforeAll(async () => {
  broker = await startBroker(PAHO_ENGINE);
});

afterAll(async () => {
  await broker?.stop();
});

describe('Paho 5.0 cases: standalone broker', () => definePahoCases(V5_CASES, 5, () => standaloneTarget(broker!.port)));
