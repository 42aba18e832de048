/** The plan of a local topology (`ops create --backend local`), from the Broker's `cardinality`. */
import type { BrokerProperties } from '../../config/types.js';
import { TOPOLOGY_VERSION, type TopologyPlan } from '../../instance/topology-file.js';
import { freeRedisPorts } from './topology-ports.js';

/** The `--backend` value that asks for a local topology. */
export const LOCAL_BACKEND = 'local';

/**
 * `cardinality.frontend` replicas × workers frontends; `backendChain` partitions × redundancyFactor
 * Redis nodes on free ports (the create flags' defaults, 2 of each, when the config has none).
 * Persistence enabled (`persistence.maxSize`) makes the nodes write an AOF.
 */
export async function planTopology(props: BrokerProperties): Promise<TopologyPlan> {
  const c = props.cardinality;
  const partitions = c?.backendChain.partitions ?? 2;
  const redundancyFactor = c?.backendChain.redundancyFactor ?? 2;
  const ports = await freeRedisPorts(partitions * redundancyFactor);
  return {
    version: TOPOLOGY_VERSION,
    frontend: { replicas: c?.frontend.replicas ?? 2, workers: c?.frontend.workers ?? 2 },
    backend: { partitions, redundancyFactor, nodes: ports.map((port, i) => ({ name: `redis-${i}`, port })) },
    persistence: props.persistence?.maxSize !== undefined,
  };
}
