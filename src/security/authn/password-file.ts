/**
 * Username and password from the instance's password file (`secrets/passwd`, salted scrypt
 * hashes): not an AIO method, an ops-broker addition tried before the resource's methods. It applies
 * only to a CONNECT with a username the file names and no enhanced authentication method.
 */
import { normalizeAddress } from '../../broker/address-limiter.js';
import type { AuthenticationRequest } from '../../broker/hooks.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import { verifyPassword, type PasswdEntry } from '../passwd.js';
import { WorkGate } from '../work-gate.js';
import type { AuthnMethod, AuthnOutcome } from './method.js';

/**
 * The password file method; `passwd` reads the file's users (undefined without a file). Password
 * checks run through `gate` (bounded concurrency and waiting, see work-gate.ts): a check the gate
 * cannot take refuses the client with 0x89 Server busy (MQTT 3.1.1: return code 3).
 */
export function createPasswordFileMethod(passwd: () => Promise<ReadonlyMap<string, PasswdEntry> | undefined>, gate: WorkGate = new WorkGate()): AuthnMethod {
  return {
    name: 'PasswordFile',
    async authenticate(request: AuthenticationRequest): Promise<AuthnOutcome> {
      if (request.authenticationMethod !== undefined || request.username === undefined) return { kind: 'notRelevant', reason: 'no username' };
      const entry = (await passwd())?.get(request.username);
      if (entry === undefined) return { kind: 'notRelevant', reason: 'user not in the password file' };
      const password = request.password;
      if (password === undefined) return { kind: 'deny', reasonCode: ReasonCode.BadUserNameOrPassword, reason: 'bad username or password' };
      const address = request.connection.remoteAddress;
      const check = gate.run(address === undefined ? '' : normalizeAddress(address), () => verifyPassword(entry, password));
      if (check === undefined) return { kind: 'deny', reasonCode: ReasonCode.ServerBusy, reason: 'too many password checks waiting' };
      if (!(await check)) {
        return { kind: 'deny', reasonCode: ReasonCode.BadUserNameOrPassword, reason: 'bad username or password' };
      }
      return { kind: 'allow', username: entry.username, attributes: { ...entry.attributes } };
    },
  };
}
