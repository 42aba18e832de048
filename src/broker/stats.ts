/** The engine's live figures; the type lives in src/shared so the admin wire format can reuse it. */
export type { BrokerStats } from '../shared/broker-stats.js';
