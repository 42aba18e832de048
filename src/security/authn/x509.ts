/**
 * The `X509` authentication method (AIO `x509Settings`): TLS client certificates verified against
 * the trusted client CA `trustedClientCaCert` (default `client-ca`, the folder
 * `<instance>/secrets/client-ca/`, see `x509-trust.ts`).
 *
 * - A client without a certificate (or on a port without TLS) is not relevant: the next method is tried.
 * - A client with a certificate is relevant, so the method decides: a certificate that is malformed,
 *   expired or not yet valid, or does not chain to the trusted CA, or has no CN, is refused with
 *   0x87 Not authorized (the certificate is the credential, there is no username or password to be
 *   bad); so is every certificate while the trusted CA is missing or unreadable (warned at apply).
 * - Accepted: the username for authorization is the certificate's CN, and the attributes are those
 *   of the first `authorizationAttributes` entry whose `subject` names a certificate of the verified
 *   chain, looking from the client's certificate towards the trusted CA (AIO: matching starts at the
 *   leaf and stops at the first match).
 * - `additionalValidation: AzureDeviceRegistry` needs Azure Device Registry, absent locally: warned, ignored.
 */
import { X509Certificate } from 'node:crypto';
import type { AuthenticationRequest } from '../../broker/hooks.js';
import { secretFolder } from '../../instance/secret-folder.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import type { AuthnMethod, AuthnMethodConfig, AuthnMethodDeps, AuthnOutcome } from './method.js';
import { verifyChain } from './x509-chain.js';
import { commonNameOf, dnOf, parseDn, printDn, sameDn, type Dn } from './x509-subject.js';
import { TrustedCaFolder } from './x509-trust.js';
import { reasonOf } from '../../shared/errors.js';

/** AIO's default `trustedClientCaCert`. */
export const DEFAULT_CLIENT_CA = 'client-ca';

/** `x509Settings` as the schema allows it. */
interface X509Settings {
  readonly trustedClientCaCert?: string;
  readonly authorizationAttributes?: Readonly<Record<string, { readonly subject: string; readonly attributes: Readonly<Record<string, string>> }>>;
  readonly additionalValidation?: string;
}

/** One `authorizationAttributes` entry, its subject parsed. */
interface AttributeMapping {
  readonly name: string;
  readonly subject: Dn;
  readonly attributes: Readonly<Record<string, string>>;
}

/** Compiles a `X509` method. */
export function createX509Method(config: AuthnMethodConfig, deps: AuthnMethodDeps): AuthnMethod {
  const settings = (config['x509Settings'] ?? {}) as X509Settings;
  const ref = settings.trustedClientCaCert ?? DEFAULT_CLIENT_CA;
  const { logger } = deps;
  if (settings.additionalValidation !== undefined && settings.additionalValidation !== 'None') {
    logger.warn({ additionalValidation: settings.additionalValidation }, `X509 additionalValidation ${settings.additionalValidation} needs Azure Device Registry, which a local broker does not have: ignored`);
  }
  const mappings: AttributeMapping[] = [];
  for (const [name, entry] of Object.entries(settings.authorizationAttributes ?? {})) {
    const subject = parseDn(entry.subject);
    if (subject === undefined) logger.warn({ entry: name, subject: entry.subject }, `X509 authorizationAttributes.${name}.subject is not a distinguished name like 'CN = smart-fan, O = Contoso': the entry never matches`);
    else mappings.push({ name, subject, attributes: { ...entry.attributes } });
  }
  const deny = (reason: string): AuthnOutcome => ({ kind: 'deny', reasonCode: ReasonCode.NotAuthorized, reason });
  let folder: string;
  try {
    folder = secretFolder(deps.secretsDir, ref, 'trustedClientCaCert');
  } catch (err) {
    // not reachable past the schema; a name that escapes the secrets folder trusts nothing
    const reason = reasonOf(err);
    logger.warn({ trustedClientCaCert: ref }, reason);
    return { name: 'X509', authenticate: (request) => (request.connection.clientCertificate === undefined ? { kind: 'notRelevant', reason: 'no client certificate' } : deny(reason)) };
  }
  const trust = new TrustedCaFolder(folder, ref, logger);

  return {
    name: 'X509',
    async authenticate(request: AuthenticationRequest): Promise<AuthnOutcome> {
      const presented = request.connection.clientCertificate;
      if (presented === undefined) return { kind: 'notRelevant', reason: 'no client certificate' };
      const cas = await trust.current();
      if (cas.unavailable !== undefined) return deny(`trusted client CA '${ref}' unavailable: ${cas.unavailable}`);
      let chain: X509Certificate[];
      try {
        chain = (presented.chain.length > 0 ? presented.chain : [presented.raw]).map((der) => new X509Certificate(der));
      } catch {
        return deny('client certificate is malformed');
      }
      const verified = verifyChain(chain, cas.certs, Date.now());
      if (!verified.ok) return deny(verified.reason);
      const leaf = verified.path[0] as X509Certificate;
      const username = commonNameOf(leaf);
      if (username === undefined || username === '') return deny('client certificate has no common name (CN) to use as the username');
      // the session belongs to the certificate's whole subject, not only its CN
      return { kind: 'allow', username, principal: printDn(leaf), attributes: attributesOf(verified.path, mappings) };
    },
  };
}

/** Attributes of the first mapping that names a certificate of `path`, from the client's certificate up. */
function attributesOf(path: readonly X509Certificate[], mappings: readonly AttributeMapping[]): Record<string, string> {
  for (const cert of path) {
    const dn = dnOf(cert);
    const match = mappings.find((m) => sameDn(m.subject, dn));
    if (match !== undefined) return { ...match.attributes };
  }
  return {};
}
