/**
 * Username and password from the instance's password file (`secrets/passwd`, salted scrypt
 * hashes): not an AIO method, an ops-broker addition tried before the resource's methods. It applies
 * only to a CONNECT with a username the file names and no enhanced authentication method.
 */
import type { AuthenticationRequest } from '../../broker/hooks.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import { verifyPassword, type PasswdEntry } from '../passwd.js';
import type { AuthnMethod, AuthnOutcome } from './method.js';

/** The password file method; `passwd` reads the file's users (undefined without a file). */
export function createPasswordFileMethod(passwd: () => Promise<ReadonlyMap<string, PasswdEntry> | undefined>): AuthnMethod {
  return {
    name: 'PasswordFile',
    async authenticate(request: AuthenticationRequest): Promise<AuthnOutcome> {
      if (request.authenticationMethod !== undefined || request.username === undefined) return { kind: 'notRelevant', reason: 'no username' };
      const entry = (await passwd())?.get(request.username);
      if (entry === undefined) return { kind: 'notRelevant', reason: 'user not in the password file' };
      if (request.password === undefined || !(await verifyPassword(entry, request.password))) {
        return { kind: 'deny', reasonCode: ReasonCode.BadUserNameOrPassword, reason: 'bad username or password' };
      }
      return { kind: 'allow', username: entry.username, attributes: { ...entry.attributes } };
    },
  };
}
