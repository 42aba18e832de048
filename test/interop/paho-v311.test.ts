/**
 * The Paho MQTT 3.1.1 interoperability cases (ported in paho-v311-cases.ts) against the standalone
 * broker, one frontend of a 3-frontend in-process cluster on 3 Redis masters x 1 replica, and
 * every frontend of that cluster in turn (issue 15, acceptance 9).
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { startInProcessCluster, type InProcessCluster } from '../helpers/cluster-in-process.js';
import { startBroker, type RunningBroker } from '../helpers/start-broker.js';
import { definePahoCases } from './paho-run.js';
import { oneFrontendTarget, PAHO_ENGINE, roundRobinTarget, standaloneTarget } from './paho-target.js';
import { V311_CASES } from './paho-v311-cases.js';

let broker: RunningBroker | undefined;
let cluster: InProcessCluster | undefined;

beforeAll(async () => {
  [broker, cluster] = await Promise.all([startBroker(PAHO_ENGINE), startInProcessCluster({ frontends: 3, masters: 3, replicasPerMaster: 1, engine: PAHO_ENGINE })]);
}, 60_000);

afterAll(async () => {
  await broker?.stop();
  await cluster?.stop();
});

describe('Paho 3.1.1 cases: standalone broker', () => definePahoCases(V311_CASES, 4, () => standaloneTarget(broker!.port)));
describe('Paho 3.1.1 cases: one frontend of a 3-frontend cluster', () => definePahoCases(V311_CASES, 4, () => oneFrontendTarget(cluster!)));
describe('Paho 3.1.1 cases: every frontend of a 3-frontend cluster, round robin', () => definePahoCases(V311_CASES, 4, () => roundRobinTarget(cluster!)));
