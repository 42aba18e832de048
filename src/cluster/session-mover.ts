/**
 * Moves sessions between frontends. A CONNECT here claims the client's session: this frontend
 * becomes its owner (`o:{c:<id>}`, atomic swap), the previous owner, when alive, is asked through its
 * inbox to hand it over (its connection gets 0x8E, its writes for the session complete first), and
 * the stored session is then loaded here. The `released` answer is handled only after the session
 * is loaded: the inbox is read in order, so messages the previous owner sends on after handing over
 * find the session here.
 */
import { randomBytes } from 'node:crypto';
import type { ClusterEngine } from '../broker/cluster-engine.js';
import { OpsError, reasonOf } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { RedisBrokerStore } from '../storage/redis/redis-broker-store.js';
import { isFrontendId } from './directory-codec.js';
import type { InboxFrame } from './inbox-frame.js';

/** How often a claim waiting for the previous owner's answer checks that owner's lease. */
export const RELEASE_CHECK_MS = 1000;
/**
 * How long a claim waits for a previous owner that is alive (its inbox may hold a backlog to write
 * into the session first) before the CONNECT is refused with 0x88 and the client retries.
 */
export const RELEASE_WAIT_MS = 30_000;

/** What the mover needs. */
export interface SessionMoverOptions {
  readonly self: string;
  readonly store: RedisBrokerStore;
  readonly engine: ClusterEngine;
  readonly isAlive: (frontendId: string) => Promise<boolean>;
  /** Writes a frame to a frontend's inbox (durable). */
  readonly send: (frontendId: string, frame: InboxFrame) => Promise<void>;
  readonly logger: Logger;
}

interface PendingClaim {
  readonly clientId: string;
  readonly released: () => void;
  /** Settles once the session is loaded here (or the claim failed). */
  readonly loaded: Promise<void>;
}

/** See the file's comment. */
export class SessionMover {
  readonly #o: SessionMoverOptions;
  readonly #pending = new Map<string, PendingClaim>();
  /** Claims in progress here, by client id: settled once each claim ended (loaded, or failed). */
  readonly #claiming = new Map<string, Promise<void>>();
  /**
   * Claims (by their `loaded` promise) that another frontend's newer claim overtook while they
   * waited for a gone owner's lease to run out: they must not load the session (two frontends
   * would hold it, and messages routed to this one would never reach the client, now elsewhere).
   */
  readonly #superseded = new WeakSet<Promise<void>>();

  constructor(options: SessionMoverOptions) {
    this.#o = options;
  }

  /** Claims a session for a CONNECT here (see ClusterLink.claim). */
  async claim(clientId: string, cleanStart: boolean): Promise<void> {
    const { self, store, engine } = this.#o;
    let loadedDone: () => void = () => undefined;
    const loaded = new Promise<void>((resolve) => (loadedDone = resolve));
    this.#claiming.set(clientId, loaded);
    try {
      const previous = await store.claimSession(clientId, self);
      if (previous !== undefined && previous !== self && (await this.#o.isAlive(previous))) await this.#askRelease(previous, clientId, loaded);
      if (this.#superseded.has(loaded)) {
        throw new OpsError('STO_BACKEND_NOT_ACKNOWLEDGED', { node: self, reason: `session ${clientId} was claimed by another frontend while this claim waited` });
      }
      if (engine.has(clientId)) return; // already here (a reconnect to the same frontend)
      if (cleanStart) {
        await store.deleteSession(clientId); // [MQTT-3.1.2-4] whatever another frontend left is discarded
        return;
      }
      const record = await store.loadSession(clientId);
      if (record === undefined) return;
      const [queue, incomingQos2] = await Promise.all([store.loadQueue(clientId), store.loadIncomingQos2(clientId)]);
      engine.adopt(record, queue, incomingQos2);
    } finally {
      if (this.#claiming.get(clientId) === loaded) this.#claiming.delete(clientId);
      loadedDone();
    }
  }

  /**
   * The claim in progress here for `clientId`, if any: the owner key already names this frontend,
   * but the session is not loaded yet (a message for it must wait, not be dropped).
   */
  claiming(clientId: string): Promise<void> | undefined {
    return this.#claiming.get(clientId);
  }

  /**
   * Asks the previous owner to hand the session over and waits for its answer, checking its lease
   * every second: a previous owner that is gone (killed: its lease runs out) is not waited for (its
   * writes are all in the store). Rejects when an owner that is alive has not answered in
   * {@link RELEASE_WAIT_MS}, or the request could not be written.
   */
  async #askRelease(previous: string, clientId: string, loaded: Promise<void>): Promise<void> {
    const request = randomBytes(9).toString('base64url');
    let answered = false;
    const released = new Promise<void>((resolve) => {
      this.#pending.set(request, {
        clientId,
        released: () => {
          answered = true;
          resolve();
        },
        loaded,
      });
    });
    try {
      await this.#o.send(previous, { kind: 'release', clientId, from: this.#o.self, request });
      const deadline = Date.now() + RELEASE_WAIT_MS;
      while (!answered) {
        await Promise.race([released, new Promise((resolve) => setTimeout(resolve, RELEASE_CHECK_MS).unref())]);
        if (answered) break;
        if (!(await this.#o.isAlive(previous))) {
          this.#o.logger.info({ clientId, previous }, 'the previous owner of a session is gone; taking it from the store');
          break;
        }
        if (Date.now() > deadline) throw new Error(`frontend ${previous} holds the session and did not hand it over within ${RELEASE_WAIT_MS} ms`);
      }
    } catch (error) {
      throw new OpsError('STO_BACKEND_NOT_ACKNOWLEDGED', { node: previous, reason: `asking for session hand-over: ${reasonOf(error)}` }, { cause: error });
    } finally {
      this.#pending.delete(request);
    }
  }

  /** Inbox: another frontend claims a session of this one: hand it over, then answer once its writes are done. */
  async onRelease(frame: Extract<InboxFrame, { kind: 'release' }>): Promise<void> {
    const { store, engine, logger } = this.#o;
    // The requester names the inbox of the answer: only a frontend id (no brace) may become a key name.
    if (!isFrontendId(frame.from)) {
      logger.warn({ clientId: frame.clientId }, 'a session hand-over request from no frontend id was skipped');
      return;
    }
    // A claim of ours still waiting (for a gone owner) is overtaken by this newer one: it must not load the session.
    const waiting = this.#claiming.get(frame.clientId);
    if (waiting !== undefined) this.#superseded.add(waiting);
    const had = engine.release(frame.clientId);
    if (had) await store.sessionBarrier(frame.clientId).catch((error: unknown) => logger.warn({ clientId: frame.clientId, err: reasonOf(error) }, 'session writes not confirmed before hand-over'));
    logger.info({ clientId: frame.clientId, to: frame.from, had }, 'session handed over to another frontend');
    await this.#o.send(frame.from, { kind: 'released', clientId: frame.clientId, request: frame.request });
  }

  /** Inbox: the previous owner handed the session over; returns once it is loaded here (or the claim ended). */
  async onReleased(frame: Extract<InboxFrame, { kind: 'released' }>): Promise<void> {
    const pending = this.#pending.get(frame.request);
    if (pending === undefined || pending.clientId !== frame.clientId) return; // late (timed out) or not ours
    pending.released();
    await pending.loaded;
  }
}
