/**
 * The broker process's store: a {@link LevelBrokerStore} at `<instance>/data/store` when the
 * deployment lock has `persistence.maxSize` (AES-256-GCM with the instance key unless
 * `persistence.encryption.mode` is Disabled), else the in-memory store (nothing survives a restart).
 * `ops create` makes the key; an instance whose store does not exist yet and has no key (made by an
 * older version, or by hand) gets one at its first start. An existing store never gets a new key.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeploymentSettings } from '../config/split.js';
import { parseQuantity } from '../config/quantity.js';
import type { InstancePaths } from '../instance/layout.js';
import { createStoreKey, loadStoreKey, STORE_KEY_ENV } from '../instance/store-key.js';
import { OpsError, reasonOf } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { BrokerStore } from '../storage/broker-store.js';
import { LevelBrokerStore } from '../storage/level/level-broker-store.js';
import { LevelSpillBuffer } from '../storage/level/level-spill-buffer.js';
import { MemoryBrokerStore } from '../storage/memory/memory-broker-store.js';
import type { SpillBuffer } from '../storage/spill-buffer.js';
import { describeFinding, describeLoss, type StoreRepairReport } from '../shared/store-repair.js';

/** What `stats` reports about persistence (deployment-time facts). */
export interface PersistenceInfo {
  /** True when the instance was created with `persistence.maxSize` (store on disk). */
  readonly enabled: boolean;
  /** `Enabled` when the store is encrypted with AES-256-GCM; `Disabled` otherwise (and without persistence). */
  readonly encryption: 'Enabled' | 'Disabled';
  /** `persistence.maxSize` in bytes; null without persistence. */
  readonly maxSizeBytes: number | null;
}

/** An opened store and what it is. */
export interface InstanceStore {
  readonly store: BrokerStore;
  readonly info: PersistenceInfo;
  /** Opened with `repair` (a durable store): what was found damaged and lost. */
  readonly repair?: StoreRepairReport;
}

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

/** The persistence facts of the locked deployment settings. */
export function persistenceInfo(deployment: DeploymentSettings): PersistenceInfo {
  const maxSize = deployment.persistence?.maxSize;
  if (maxSize === undefined) return { enabled: false, encryption: 'Disabled', maxSizeBytes: null };
  const encrypted = deployment.persistence?.encryption?.mode !== 'Disabled';
  return { enabled: true, encryption: encrypted ? 'Enabled' : 'Disabled', maxSizeBytes: parseQuantity(maxSize) ?? null };
}

/**
 * Opens the instance's store. Throws the store's `STO_*` error (logged first) when the store cannot
 * be opened: `STO_WRONG_KEY` (key missing, malformed or not the store's), `STO_OPEN_FAILED`
 * (damaged or locked LevelDB), `STO_CORRUPT_RECORD` (format records damaged), `STO_LOG_DAMAGED`
 * (write-ahead log damaged). With `repair`, a damaged write-ahead log is opened with what survived,
 * and what was lost is logged (warn) and returned.
 */
export async function openInstanceStore(
  paths: InstancePaths,
  deployment: DeploymentSettings,
  logger: Logger,
  env: Readonly<Record<string, string | undefined>> = process.env,
  repair = false,
): Promise<InstanceStore> {
  const info = persistenceInfo(deployment);
  if (!info.enabled) return { store: new MemoryBrokerStore(), info };
  try {
    if (info.encryption === 'Enabled' && !env[STORE_KEY_ENV] && !(await exists(paths.store)) && (await createStoreKey(paths.storeKey))) {
      logger.warn({ path: paths.storeKey }, 'no store yet and no store key: made a new key');
    }
    const key = info.encryption === 'Enabled' ? await loadStoreKey(paths.storeKey, paths.store, env) : undefined;
    const store = await LevelBrokerStore.open({
      path: paths.store,
      ...(key ? { encryptionKey: key.key } : {}),
      ...(info.maxSizeBytes !== null ? { maxSizeBytes: info.maxSizeBytes } : {}),
      ...(repair ? { repair: true } : {}),
    });
    logger.info(
      { path: paths.store, encryption: store.encryption, key: key === undefined ? 'none' : key.source === 'env' ? STORE_KEY_ENV : paths.storeKey, maxSizeBytes: info.maxSizeBytes },
      'store open',
    );
    const report = store.walRecovery;
    if (report === undefined) return { store, info };
    if (report.repaired) {
      logger.warn(
        { path: paths.store, ...report },
        `store repaired: write-ahead log damaged (${report.findings.map(describeFinding).join('; ')}); lost ${describeLoss(report)}`,
      );
    } else logger.info({ path: paths.store }, 'store repair asked for: nothing is damaged, nothing lost');
    return { store, info, repair: report };
  } catch (err) {
    const error = err instanceof OpsError ? err : new OpsError('STO_OPEN_FAILED', { path: paths.store, reason: reasonOf(err) }, { cause: err });
    logger.error({ code: error.code, path: paths.store }, error.message);
    throw error;
  }
}

/** The disk-backed message buffer's folder: `<instance>/data/buffer`. */
export function diskBufferFolder(paths: Pick<InstancePaths, 'data'>): string {
  return join(paths.data, 'buffer');
}

/**
 * Opens the disk-backed message buffer (`diskBackedMessageBuffer.maxSize`) at `<instance>/data/buffer`,
 * emptied at every start (it gives no durability); undefined when the setting is absent.
 */
export async function openDiskBuffer(paths: InstancePaths, deployment: DeploymentSettings, logger: Logger): Promise<SpillBuffer | undefined> {
  const maxSize = deployment.diskBackedMessageBuffer?.maxSize;
  if (maxSize === undefined) return undefined;
  const maxBytes = parseQuantity(maxSize);
  if (maxBytes === undefined) throw new OpsError('CFG_FLAG_INVALID', { message: `diskBackedMessageBuffer.maxSize ${maxSize} is not a size` });
  const path = diskBufferFolder(paths);
  const buffer = await LevelSpillBuffer.open({ path, maxBytes });
  logger.info({ path, maxBytes }, 'disk-backed message buffer open (emptied at start)');
  return buffer;
}
