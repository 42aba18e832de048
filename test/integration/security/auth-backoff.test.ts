import type { IConnackPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import type { CreateBrokerOptions } from '../../../src/broker/broker.js';
import { ReasonCode } from '../../../src/protocol/reason-codes.js';
import { parsePasswd, passwdLine, type PasswdEntry } from '../../../src/security/passwd.js';
import { AUTH_REFUSAL_LINES, ClientDirectory, createPortHooks } from '../../../src/security/port-hooks.js';
import { WorkGate } from '../../../src/security/work-gate.js';
import type { Logger } from '../../../src/shared/log.js';
import { useRawBroker } from '../../helpers/raw-broker.js';
import { recordingLogger } from '../../helpers/recording-logger.js';

const { start, open } = useRawBroker();
const users = parsePasswd(passwdLine('alice', 'right')).entries;
/** A second client address: all of 127.0.0.0/8 is loopback on Linux. */
const OTHER_ADDRESS = '127.0.0.2';

/** A broker whose clients authenticate with the password file (as a port with an authenticationRef). */
function startSecured(logger: Logger, options: CreateBrokerOptions, passwd: () => Promise<ReadonlyMap<string, PasswdEntry>> = async () => users, passwordChecks?: WorkGate) {
  const hooks = createPortHooks({
    security: () => ({ authnName: 'pw', authnMethods: [], authorizer: undefined }),
    passwd,
    logger,
    where: { listener: 'secure', port: 0 },
    directory: new ClientDirectory(),
    ...(passwordChecks !== undefined ? { passwordChecks } : {}),
  });
  return start({ ...options, hooks, logger });
}

/** Sends CONNECT `username`/`password` from `localAddress` and returns the CONNACK code (v5 reason code, 3.1.1 return code). */
async function login(password: string, localAddress?: string, version: 4 | 5 = 5, username = 'alice'): Promise<number | undefined> {
  const raw = await open(version, localAddress);
  const connack: IConnackPacket = await raw.connect({ clientId: `c-${Math.random().toString(36).slice(2)}`, username, password: Buffer.from(password) });
  return version === 5 ? connack.reasonCode : connack.returnCode;
}

describe('per-address failed-authentication backoff', () => {
  it('refuses a guesser with 0x8A after N failures without checking its passwords, while another address logs in; log lines rate-limited', async () => {
    const logger = recordingLogger();
    const running = await startSecured(logger, { connectionLimits: { maxAuthFailuresPerAddress: 3, authFailureWindowSeconds: 60, authBlockSeconds: 60 } });
    const codes: (number | undefined)[] = [];
    for (let i = 0; i < 10; i++) codes.push(await login(`guess-${i}`));
    expect(codes).toEqual([0x86, 0x86, 0x86, ...Array<number>(7).fill(ReasonCode.Banned)]);
    expect(await login('right')).toBe(ReasonCode.Banned); // the blocked address is refused even with the right password
    expect(await login('right', OTHER_ADDRESS)).toBe(ReasonCode.Success); // another address is not slowed
    expect(await login('right', OTHER_ADDRESS, 4)).toBe(0);
    expect(await login('guess', OTHER_ADDRESS, 4)).toBe(4); // 3.1.1: bad user name or password
    const stats = running.broker.stats().clients;
    expect(stats.authenticationFailures).toBe(4); // only checked passwords fail; blocked CONNECTs are limited
    expect(stats.limitedConnections).toBe(8);
    const messages = logger.warnings.map((w) => w.message);
    expect(messages.filter((m) => m.startsWith('connection refused: PasswordFile: bad username or password'))).toHaveLength(4); // within the line budget
    expect(messages.filter((m) => m === 'address blocked: too many failed authentications')).toHaveLength(1);
    expect(messages.filter((m) => m === 'connection refused: too many failed authentications from this address')).toHaveLength(1); // 8 refusals, one line
    expect(logger.warnings.find((w) => w.message.startsWith('address blocked'))?.fields).toMatchObject({ remoteAddress: '127.0.0.1', failures: 3, blockSeconds: 60 });
  });

  it('logs refused authentications at most AUTH_REFUSAL_LINES per 10 s, then counts the suppressed ones', async () => {
    const logger = recordingLogger();
    await startSecured(logger, { connectionLimits: { maxAuthFailuresPerAddress: 0 } });
    for (let i = 0; i < AUTH_REFUSAL_LINES + 5; i++) expect(await login('x', undefined, 5, `nobody-${i}`)).toBe(ReasonCode.NotAuthorized);
    const lines = logger.warnings.filter((w) => w.message.startsWith('connection refused: no authentication method'));
    expect(lines.map((w) => w.fields['username'])).toEqual(Array.from({ length: AUTH_REFUSAL_LINES }, (_, i) => `nobody-${i}`));
  });

  it('3.1.1: a blocked address gets return code 5 (not authorized)', async () => {
    await startSecured(recordingLogger(), { connectionLimits: { maxAuthFailuresPerAddress: 1 } });
    expect(await login('wrong', undefined, 4)).toBe(4);
    expect(await login('right', undefined, 4)).toBe(5);
  });

  it('is live-changeable: 0 turns it off', async () => {
    const running = await startSecured(recordingLogger(), { connectionLimits: { maxAuthFailuresPerAddress: 1 } });
    expect(await login('wrong')).toBe(0x86);
    expect(await login('right')).toBe(ReasonCode.Banned);
    running.broker.setConnectionLimits({ maxAuthFailuresPerAddress: 0 });
    expect(await login('right')).toBe(ReasonCode.Success);
  });
});

describe('bounded password checks', () => {
  it('runs at most maxRunning scrypt checks; beyond the waiting places the CONNECT gets 0x89 Server busy (3.1.1: 3), per address first', async () => {
    // The password file read waits until the test has sent every CONNECT, so all reach the gate together.
    const reads: (() => void)[] = [];
    let readsChanged: () => void = () => undefined;
    const passwd = () => new Promise<ReadonlyMap<string, PasswdEntry>>((resolve) => {
      reads.push(() => resolve(users));
      readsChanged();
    });
    const readsReach = (n: number) => new Promise<void>((resolve) => {
      readsChanged = () => reads.length >= n && resolve();
      readsChanged();
    });
    const gate = new WorkGate({ maxRunning: 1, maxWaiting: 2, maxWaitingPerKey: 1 });
    await startSecured(recordingLogger(), { connectionLimits: { maxAuthFailuresPerAddress: 0 } }, passwd, gate);
    const first = login('wrong-1'); // runs
    await readsReach(1);
    const second = login('wrong-2'); // waits (the address's one waiting place)
    await readsReach(2);
    const third = login('wrong-3', undefined, 4); // refused: the address already has its waiting place
    await readsReach(3);
    const other = login('right', OTHER_ADDRESS); // waits: another address still gets a place
    await readsReach(4);
    for (const release of reads) release();
    expect(await Promise.all([first, second, third, other])).toEqual([0x86, 0x86, 3, 0]);
    expect([gate.running, gate.waiting]).toEqual([0, 0]);
  });
});
