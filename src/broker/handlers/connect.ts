import { reasonOf } from '../../shared/errors.js';
import { randomUUID } from 'node:crypto';
import type { ConnackPacket, ConnectPacket } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import { userPropertyList } from '../../protocol/user-properties.js';
import { checkTopicName } from '../../shared/topic.js';
import type { Connection } from '../connection.js';
import { logRateLimited, warnAbuse } from '../abuse-log.js';
import { normalizeAddress } from '../address-limiter.js';
import { isCredentialFailure } from '../auth-backoff.js';
import { logConnected } from '../connection-log.js';
import type { AuthenticationResult } from '../hooks.js';
import { sessionOwnerOf } from '../session-owner.js';
import type { Will } from '../session-registry.js';
import { sendConnackRefusal } from './refusals.js';
import { createMessage } from './message-from-packet.js';

/** CONNECT: version, client id, authentication, session open/resume/takeover, CONNACK. */
export function handleConnect(connection: Connection, packet: ConnectPacket): void {
  const version = packet.protocolVersion;
  if (version !== 4 && version !== 5) {
    // MQTT 3.1 (level 3) is refused cleanly [MQTT-3.1.2-2]
    refuse(connection, ReasonCode.UnsupportedProtocolVersion, 'only MQTT 3.1.1 and 5.0 are supported');
    return;
  }
  connection.useProtocolVersion(version);
  const core = connection.core;

  let clientId = packet.clientId;
  const cleanStart = packet.clean ?? true;
  let assigned = false;
  if (clientId.length === 0) {
    if (version === 4 && !cleanStart) {
      refuse(connection, ReasonCode.ClientIdentifierNotValid, 'an empty client id needs a clean session'); // [MQTT-3.1.3-8]
      return;
    }
    clientId = `auto-${randomUUID()}`; // [MQTT-3.1.3-6] the server assigns one
    assigned = version === 5;
  }
  const willTopicProblem = packet.will === undefined ? undefined : checkTopicName(packet.will.topic);
  if (willTopicProblem !== undefined) {
    if (version === 4) {
      // [MQTT-3.1.3-10] [MQTT-3.1.4-1] no 3.1.1 return code fits an invalid will topic: the connection just closes
      core.counters.connectionsRejected++;
      core.logger.info({ reason: willTopicProblem }, 'connection refused: invalid will topic');
      connection.close();
      return;
    }
    refuse(connection, ReasonCode.TopicNameInvalid, `will topic is invalid: ${willTopicProblem}`);
    return;
  }
  // Property multiplicity, types and values (Receive Maximum 0, ...) were validated when the CONNECT was decoded.
  const props = packet.properties;
  if (props?.authenticationMethod !== undefined && connection.hooks.authenticate === undefined) {
    refuse(connection, ReasonCode.BadAuthenticationMethod, `authentication method ${props.authenticationMethod} is not supported`);
    return;
  }
  const authenticate = connection.hooks.authenticate;
  if (authenticate === undefined) {
    holdWhile(connection, accept(connection, packet, clientId, assigned, cleanStart));
    return;
  }
  const address = remoteAddressOf(connection);
  const blockedMs = address === undefined ? 0 : core.authBackoff.blockedFor(address);
  if (blockedMs > 0) {
    // Too many failed authentications from this address: refused before any credential is checked.
    const retryAfterSeconds = Math.ceil(blockedMs / 1000);
    core.counters.connectionsLimited++;
    warnAbuse(core.logger, 'auth-backoff', { remoteAddress: address, retryAfterSeconds }, 'connection refused: too many failed authentications from this address');
    refuse(connection, ReasonCode.Banned, `too many failed authentications from ${address}; retry in ${retryAfterSeconds} s`, 'debug');
    return;
  }
  const decision = authenticate({
    connection: connection.info,
    clientId,
    username: packet.username,
    password: packet.password,
    protocolVersion: version,
    authenticationMethod: props?.authenticationMethod,
    authenticationData: props?.authenticationData,
  });
  const finish = (result: AuthenticationResult): Promise<void> | undefined => {
    if (connection.state === 'closed') return undefined;
    if (result.reasonCode !== ReasonCode.Success) {
      core.counters.authenticationFailures++;
      if (address !== undefined && isCredentialFailure(result.reasonCode)) noteFailure(connection, address);
      refuse(connection, result.reasonCode, result.reasonString, 'debug'); // the security layer logs why (rate-limited)
      return undefined;
    }
    return accept(connection, packet, clientId, assigned, cleanStart, result);
  };
  if (!(decision instanceof Promise)) {
    holdWhile(connection, finish(decision));
    return;
  }
  // A promise continuation: outside the packet boundary, so the decision runs in the connection's own.
  const finished = (result: AuthenticationResult): Promise<void> | undefined => {
    let pending: Promise<void> | undefined;
    connection.contain('connect-decision', () => (pending = finish(result)));
    return pending;
  };
  holdWhile(
    connection,
    decision.then(
      (result) => finished(result),
      () => finished({ reasonCode: ReasonCode.UnspecifiedError }),
    ),
  );
}

/** Packets after CONNECT wait (held, reading paused) until `pending` settles, then are replayed in order. */
function holdWhile(connection: Connection, pending: Promise<void> | undefined): void {
  if (pending === undefined) return;
  connection.hold();
  void pending.finally(() => connection.contain('connect-decision', () => connection.replayHeld()));
}

/**
 * Accepts an authenticated CONNECT. In cluster mode the session is first claimed from the cluster
 * (taken over from another frontend, loaded from the store): the returned promise settles when the
 * CONNECT has been answered, and packets after it wait until then.
 */
function accept(connection: Connection, packet: ConnectPacket, clientId: string, assigned: boolean, cleanStart: boolean, auth?: AuthenticationResult): Promise<void> | undefined {
  const core = connection.core;
  const options = core.options;
  const version = connection.version;
  const props = packet.properties;
  connection.credentials.accept({
    clientId,
    username: auth?.username ?? packet.username,
    attributes: auth?.attributes,
    // AUTH may follow only with the CONNECT's method [MQTT-4.12.0-7]; expiring credentials disconnect at expiry
    method: version === 5 ? props?.authenticationMethod : undefined,
    expiresAt: auth?.expiresAt,
  });

  // Session expiry: v5 property, capped; 3.1.1 persistent sessions get the broker maximum (as AIO).
  const requestedExpiry = version === 5 ? (props?.sessionExpiryInterval ?? 0) : cleanStart ? 0 : options.maxSessionExpirySeconds;
  const expiry = Math.min(requestedExpiry, options.maxSessionExpirySeconds);

  // Keep alive: a v5 client asking for more than the maximum (or for none) gets Server Keep Alive [MQTT-3.2.2-21].
  let keepAlive = packet.keepalive ?? 0;
  let serverKeepAlive: number | undefined;
  if (version === 5 && options.maxKeepAliveSeconds < 65_535 && (keepAlive === 0 || keepAlive > options.maxKeepAliveSeconds)) {
    keepAlive = options.maxKeepAliveSeconds;
    serverKeepAlive = keepAlive;
  }
  connection.setLimits({
    receiveMaximum: props?.receiveMaximum ?? (version === 5 ? 65_535 : options.v3InflightLimit), // [MQTT-3.3.4-9]
    maximumPacketSize: props?.maximumPacketSize ?? Number.POSITIVE_INFINITY, // [MQTT-3.1.2-24]
    topicAliasMaximum: props?.topicAliasMaximum ?? 0, // [MQTT-3.1.2-26]
    keepAliveSeconds: keepAlive,
  });

  let will: Will | undefined;
  if (packet.will !== undefined) {
    const requested = packet.will;
    will = {
      message: createMessage(
        {
          topic: requested.topic,
          payload: typeof requested.payload === 'string' ? Buffer.from(requested.payload) : requested.payload,
          qos: requested.qos ?? 0,
          retain: requested.retain ?? false,
          ...(requested.properties !== undefined ? { properties: requested.properties } : {}),
        },
        clientId,
        options.maxMessageExpirySeconds,
      ),
      delaySeconds: requested.properties?.willDelayInterval ?? 0,
    };
  }

  const cluster = core.cluster;
  if (cluster === undefined) {
    openSession(connection, packet, { clientId, assigned, cleanStart, auth, will, expiry, requestedExpiry, keepAlive, serverKeepAlive });
    return undefined;
  }
  const open = { clientId, assigned, cleanStart, auth, will, expiry, requestedExpiry, keepAlive, serverKeepAlive };
  return cluster.claim(clientId, cleanStart).then(
    () => {
      connection.contain('connect-claim', () => {
        if (connection.state !== 'closed') openSession(connection, packet, open);
      });
    },
    (error: unknown) => {
      connection.contain('connect-claim', () => {
        core.logger.warn({ clientId, err: reasonOf(error) }, 'connection refused: the cluster could not hand the session over');
        refuse(connection, ReasonCode.ServerUnavailable, 'the session could not be taken over in the cluster; retry');
      });
    },
  );
}

/** What {@link accept} decided, for opening the session. */
interface OpenDecision {
  readonly clientId: string;
  readonly assigned: boolean;
  readonly cleanStart: boolean;
  readonly auth: AuthenticationResult | undefined;
  readonly will: Will | undefined;
  readonly expiry: number;
  readonly requestedExpiry: number;
  readonly keepAlive: number;
  readonly serverKeepAlive: number | undefined;
}

/** Opens (or resumes) the session and answers the CONNECT. */
function openSession(connection: Connection, packet: ConnectPacket, decided: OpenDecision): void {
  const core = connection.core;
  const options = core.options;
  const version = connection.version;
  const props = packet.properties;
  const { clientId, assigned, cleanStart, auth, will, expiry, requestedExpiry, keepAlive, serverKeepAlive } = decided;
  // The session is bound to the CONNECT's identity: another identity's CONNECT is refused, its owner untouched.
  const opened = core.registry.open({
    clientId,
    cleanStart,
    expirySeconds: expiry,
    version,
    principal: sessionOwnerOf(connection.info, auth, connection.credentials.username),
    maySubscribe: (filter) => connection.hooks.authorizeSubscribe?.(connection.identity, filter) ?? true,
    connectUserProperties: userPropertyList(props) ?? [],
  });
  if (opened === undefined) {
    refuse(connection, ReasonCode.NotAuthorized, 'the client id is in use by a session of another identity');
    return;
  }
  const { session, present, revoked } = opened;
  connection.openSession(session, will);
  if (will !== undefined) core.cluster?.connected(clientId, will);

  const connack: ConnackPacket = { cmd: 'connack', sessionPresent: present, reasonCode: ReasonCode.Success };
  if (version === 5) {
    connack.properties = {
      ...(expiry !== requestedExpiry ? { sessionExpiryInterval: expiry } : {}), // [MQTT 5 §3.2.2.3.2] tell the client the capped value
      ...(options.receiveMaximum < 65_535 ? { receiveMaximum: options.receiveMaximum } : {}),
      maximumPacketSize: options.maxPacketSizeBytes,
      topicAliasMaximum: options.topicAliasMaximum,
      ...(assigned ? { assignedClientIdentifier: clientId } : {}), // [MQTT-3.2.2-16]
      ...(serverKeepAlive !== undefined ? { serverKeepAlive } : {}),
      ...(props?.requestResponseInformation === true ? { responseInformation: `responses/${clientId}/` } : {}),
      wildcardSubscriptionAvailable: true,
      subscriptionIdentifiersAvailable: true,
      sharedSubscriptionAvailable: true,
      // [MQTT-4.12.0-5] a successful CONNACK carries the CONNECT's Authentication Method
      ...(props?.authenticationMethod !== undefined ? { authenticationMethod: props.authenticationMethod } : {}),
      ...(props?.authenticationMethod !== undefined && auth?.authenticationData !== undefined ? { authenticationData: auth.authenticationData } : {}),
    };
  } else {
    connack.returnCode = 0;
    delete connack.reasonCode;
  }
  connection.send(connack);
  logConnected(connection, { version, cleanStart, keepAliveSeconds: keepAlive, sessionPresent: present, sessionExpirySeconds: expiry, username: connection.credentials.username });
  if (revoked.length > 0) core.logger.info({ clientId, revoked }, 'resumed session: subscriptions no longer authorized were removed');
  session.attach(connection); // resend in-flight, then pump the queue [MQTT-4.4.0-1]
}

/** The client's remote address, normalized, when it has one (`Broker.attach` records it; in-memory streams have none). */
function remoteAddressOf(connection: Connection): string | undefined {
  const raw = connection.info.remoteAddress;
  return raw === undefined ? undefined : normalizeAddress(raw);
}

/** Counts a failed authentication from `address`; warns (rate-limited) when it blocks the address. */
function noteFailure(connection: Connection, address: string): void {
  const core = connection.core;
  const blockMs = core.authBackoff.failed(address);
  if (blockMs === 0) return;
  const { maxAuthFailuresPerAddress, authFailureWindowSeconds } = core.authBackoff.limits;
  warnAbuse(
    core.logger,
    'auth-backoff-start',
    { remoteAddress: address, failures: maxAuthFailuresPerAddress, windowSeconds: authFailureWindowSeconds, blockSeconds: Math.ceil(blockMs / 1000) },
    'address blocked: too many failed authentications',
  );
}

/** Info lines about refused CONNECTs per 10 s at most (then one saying how many were suppressed): a flood of bad CONNECTs writes no flood of lines. */
export const CONNECT_REFUSAL_LINES = 10;

/**
 * Refuses a CONNECT with a CONNACK reason code and closes [MQTT-3.2.2-7]. `level` of the log line:
 * info (rate-limited, {@link CONNECT_REFUSAL_LINES}), or debug for refusals logged elsewhere with
 * a rate limit (authentication), which are not logged twice.
 */
function refuse(connection: Connection, reasonCode: number, reasonString?: string, level: 'info' | 'debug' = 'info'): void {
  const core = connection.core;
  core.counters.connectionsRejected++;
  const info = connection.info;
  const fields = { remoteAddress: info.remoteAddress, listener: info.listener, port: info.port, reasonCode, reasonString };
  if (level === 'info') logRateLimited(core.logger, 'info', 'connect-refused', fields, 'connection refused', Date.now(), CONNECT_REFUSAL_LINES);
  else core.logger.debug(fields, 'connection refused');
  sendConnackRefusal(connection, reasonCode, reasonString);
  connection.close();
}
