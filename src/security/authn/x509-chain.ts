/**
 * Verification of a client certificate chain for the X509 method, with node:crypto: from the
 * client's certificate, each step goes to an issuer (a trusted CA, or else an intermediate the
 * client sent) whose name and key identifiers match (`checkIssued`) and whose key verifies the
 * signature; intermediates must be CAs (basicConstraints CA:TRUE); every certificate on the path
 * must be valid now; a client certificate with an extended key usage must allow client
 * authentication. The trusted CA may be a root or an intermediate (AIO).
 */
import type { X509Certificate } from 'node:crypto';
import { printDn } from './x509-subject.js';

/** Longest path tried (client certificate, intermediates, trusted CA). */
const MAX_DEPTH = 10;
/** Extended key usages that allow TLS client authentication: clientAuth, anyExtendedKeyUsage. */
const CLIENT_AUTH_USAGES = ['1.3.6.1.5.5.7.3.2', '2.5.29.37.0'];

/** The verified path, client certificate first and the trusted CA last; or why there is none. */
export type ChainResult = { readonly ok: true; readonly path: readonly X509Certificate[] } | { readonly ok: false; readonly reason: string };

/** Why `cert` is not valid at `now` (undefined when it is). */
function validityProblem(cert: X509Certificate, now: number, role: string): string | undefined {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  if (Number.isNaN(from) || Number.isNaN(to)) return `${role} '${printDn(cert)}' has unreadable validity dates`;
  if (now < from) return `${role} '${printDn(cert)}' is not valid before ${new Date(from).toISOString()}`;
  if (now > to) return `${role} '${printDn(cert)}' expired on ${new Date(to).toISOString()}`;
  return undefined;
}

/** Whether `issuer` issued `cert` (names, key identifiers and signature). */
function issued(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false; // a key type or signature algorithm crypto cannot use
  }
}

/**
 * Verifies `presented` (the client's certificate first, then what else it sent) up to one of
 * `trusted` at time `now` (ms).
 */
export function verifyChain(presented: readonly X509Certificate[], trusted: readonly X509Certificate[], now: number): ChainResult {
  const leaf = presented[0];
  if (leaf === undefined) return { ok: false, reason: 'no client certificate' };
  const usages = leaf.keyUsage; // Node names the extended key usage OIDs `keyUsage`
  if (usages !== undefined && usages.length > 0 && !usages.some((u) => CLIENT_AUTH_USAGES.includes(u))) {
    return { ok: false, reason: `client certificate '${printDn(leaf)}' does not allow client authentication (extended key usage)` };
  }
  const path: X509Certificate[] = [leaf];
  const unused = presented.slice(1);
  let current = leaf;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const problem = validityProblem(current, now, depth === 0 ? 'client certificate' : 'intermediate certificate');
    if (problem !== undefined) return { ok: false, reason: problem };
    const anchor = trusted.find((t) => issued(current, t));
    if (anchor !== undefined) {
      const anchorProblem = validityProblem(anchor, now, 'trusted CA certificate');
      if (anchorProblem !== undefined) return { ok: false, reason: anchorProblem };
      return { ok: true, path: [...path, anchor] };
    }
    const at = unused.findIndex((c) => c.ca && issued(current, c));
    const next = unused[at];
    if (next === undefined) {
      return { ok: false, reason: `client certificate '${printDn(leaf)}' does not chain to a trusted CA (no trusted issuer for '${printDn(current)}')` };
    }
    unused.splice(at, 1);
    path.push(next);
    current = next;
  }
  return { ok: false, reason: `client certificate chain is longer than ${MAX_DEPTH}` };
}
