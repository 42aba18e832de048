/**
 * The Paho MQTT 5.0 interoperability cases (ported in paho-v5-cases.ts) against one frontend of a
 * 3-frontend in-process cluster on 3 Redis masters x 1 replica (issue 15, acceptance 9).
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { startInProcessCluster, type InProcessCluster } from '../helpers/cluster-in-process.js';
import { definePahoCases } from './paho-run.js';
import { oneFrontendTarget, PAHO_ENGINE } from './paho-target.js';
import { V5_CASES } from './paho-v5-cases.js';

let cluster: InProcessCluster | undefined;

beforeAll(async () => {
  cluster = await startInProcessCluster({ frontends: 3, masters: 3, replicasPerMaster: 1, engine: PAHO_ENGINE });
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('Paho 5.0 cases: one frontend of a 3-frontend cluster', () => definePahoCases(V5_CASES, 5, () => oneFrontendTarget(cluster!)));
