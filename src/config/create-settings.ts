/**
 * The Broker properties `ops create` uses when no `--broker-config-file` is given, built from the
 * AIO create flags (memory profile, cardinality, persistence) with the AIO CLI's range messages.
 */
import { OpsError } from '../shared/errors.js';
import { buildCreatePersistence, type CreatePersistArgs } from './persist-flags.js';
import type { BrokerProperties } from './types.js';

/** The broker-related flags of `ops create`. */
export interface CreateBrokerArgs extends CreatePersistArgs {
  memoryProfile?: string;
  frontendReplicas?: number;
  frontendWorkers?: number;
  backendRedundancyFactor?: number;
  backendWorkers?: number;
  backendPartitions?: number;
}

/** Ranges of the cardinality flags, in the order the AIO CLI reports them. */
export const CARDINALITY_RANGES = [
  ['frontendReplicas', 1, 16],
  ['frontendWorkers', 1, 16],
  ['backendRedundancyFactor', 2, 5],
  ['backendWorkers', 1, 16],
  ['backendPartitions', 1, 16],
] as const;

const PROFILES = ['Tiny', 'Low', 'Medium', 'High'] as const;

/** Normalizes an enum flag case-insensitively (azure-cli `get_enum_type`); throws on unknown values. */
export function normalizeEnum<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  const hit = allowed.find((a) => a.toLowerCase() === value.toLowerCase());
  if (!hit) throw new OpsError('CFG_FLAG_INVALID', { message: `argument ${flag}: invalid choice: '${value}' (choose from ${allowed.map((a) => `'${a}'`).join(', ')})` });
  return hit;
}

/**
 * Checks the create flags (also when a config file is given, as the AIO CLI does) and returns the
 * default Broker properties they describe.
 */
export function buildCreateProperties(args: CreateBrokerArgs): BrokerProperties {
  const lines: string[] = [];
  for (const [key, min, max] of CARDINALITY_RANGES) {
    const value = args[key];
    if (value !== undefined && (!Number.isInteger(value) || value < min || value > max)) lines.push(`${key} value range min:${min} max:${max}`);
  }
  if (lines.length > 0) throw new OpsError('CFG_FLAG_INVALID', { message: lines.join('\n') });
  const memoryProfile = args.memoryProfile === undefined ? 'Medium' : normalizeEnum('--broker-mem-profile', args.memoryProfile, PROFILES);
  const persistence = buildCreatePersistence(args);
  const props: BrokerProperties = {
    memoryProfile,
    generateResourceLimits: { cpu: 'Disabled' },
    cardinality: {
      backendChain: {
        partitions: args.backendPartitions ?? 2,
        workers: args.backendWorkers ?? 2,
        redundancyFactor: args.backendRedundancyFactor ?? 2,
      },
      frontend: { replicas: args.frontendReplicas ?? 2, workers: args.frontendWorkers ?? 2 },
    },
  };
  if (persistence) props.persistence = persistence;
  return props;
}
