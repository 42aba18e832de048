/**
 * The body ops-broker POSTs to the custom authentication server for a CONNECT (AIO custom
 * authentication API 0.5.0, `ConnectRequest`): `type: "connect"`, `username`, `password` (base64),
 * `certs` (the client's TLS certificate chain as presented, PEM, unverified: the server decides) and, for an MQTT v5 CONNECT with enhanced
 * authentication, `enhancedAuthentication: { method, data (base64) }`. Absent fields are omitted.
 */
import type { AuthenticationRequest } from '../../broker/hooks.js';

/** The JSON body of one authentication request. */
export interface CustomConnectRequest {
  readonly type: 'connect';
  readonly username?: string;
  readonly password?: string;
  readonly certs?: string;
  readonly enhancedAuthentication?: { readonly method: string; readonly data?: string };
}

/** PEM text of a DER certificate. */
export function derToPem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** The client's certificate then the issuers it sent, PEM (the chain as TLS linked it, when there is one). */
function certificatesPem(raw: Buffer, chain: readonly Buffer[] | undefined): string {
  const ders = chain !== undefined && chain.length > 0 ? chain : [raw];
  return ders.map(derToPem).join('');
}

/** The request body for a CONNECT (or a re-authentication: the same shape, no password, the AUTH's data). */
export function connectRequestBody(request: AuthenticationRequest): CustomConnectRequest {
  const certificate = request.connection.clientCertificate;
  return {
    type: 'connect',
    ...(request.username !== undefined ? { username: request.username } : {}),
    ...(request.password !== undefined ? { password: request.password.toString('base64') } : {}),
    ...(certificate !== undefined && certificate.raw.length > 0 ? { certs: certificatesPem(certificate.raw, certificate.chain) } : {}),
    ...(request.authenticationMethod !== undefined
      ? {
          enhancedAuthentication: {
            method: request.authenticationMethod,
            ...(request.authenticationData !== undefined ? { data: request.authenticationData.toString('base64') } : {}),
          },
        }
      : {}),
  };
}
