/**
 * TLS and credentials of `ops state` connections: statestore-cli's `--notls`, `-T/--cafile`,
 * `-C/--certfile`, `-K/--keyfile`, `-P/--keypasswordfile`, plus `--tls` and mosquitto_pub-style
 * `-u/--username` with `--password` or `--password-file`. Files are read and checked here, so a bad
 * file is a usage error naming it rather than a failed handshake.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readInputFile } from '../../../config/input-file.js';
import { OpsError } from '../../../shared/errors.js';

/** The security flags as given. */
export interface SecurityInput {
  /** `--tls`: connect with TLS (implied by `--cafile` and `--certfile`). */
  readonly tls?: boolean;
  /** `--notls`: plain MQTT (the default; statestore-cli's flag, accepted for scripts written for it). */
  readonly notls?: boolean;
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly keyPasswordFile?: string;
  readonly username?: string;
  readonly password?: string;
  readonly passwordFile?: string;
}

/** TLS material for the connection (PEM). */
export interface TlsSettings {
  /** Trusted CAs; the system's when absent. */
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly passphrase?: string;
}

/** What the connection uses. */
export interface ConnectionSecurity {
  /** Present: connect with TLS. */
  readonly tls?: TlsSettings;
  readonly username?: string;
  readonly password?: Buffer;
}

function usage(message: string): OpsError {
  return new OpsError('CLI_USAGE', { message });
}

/** A secret file's content without one trailing newline (`\n` or `\r\n`), as `echo pw > file` writes it. */
function withoutTrailingNewline(bytes: Buffer): Buffer {
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0a) end--;
  if (end > 0 && bytes[end - 1] === 0x0d) end--;
  return bytes.subarray(0, end);
}

function checkCertificates(pem: Buffer, flag: string, path: string): void {
  try {
    new X509Certificate(pem);
  } catch (err) {
    throw usage(`${flag} ${path} is not a PEM certificate (${(err as Error).message}).`);
  }
}

function checkKey(pem: Buffer, passphrase: string | undefined, path: string): void {
  try {
    createPrivateKey(passphrase === undefined ? { key: pem } : { key: pem, passphrase });
  } catch (err) {
    const hint = passphrase === undefined ? ' (an encrypted key needs -P/--keypasswordfile)' : ' (is -P/--keypasswordfile the right password?)';
    throw usage(`-K/--keyfile ${path} is not a readable PEM private key${hint}: ${(err as Error).message}.`);
  }
}

/** Checks the flag combinations, reads the files, and returns what the connection uses. */
export async function resolveSecurity(input: SecurityInput): Promise<ConnectionSecurity> {
  const tls = input.tls === true || input.caFile !== undefined || input.certFile !== undefined;
  if (input.notls && tls) throw usage('--notls cannot be used with --tls, -T/--cafile or -C/--certfile.');
  if ((input.certFile === undefined) !== (input.keyFile === undefined)) throw usage('-C/--certfile and -K/--keyfile go together.');
  if (input.keyPasswordFile !== undefined && input.keyFile === undefined) throw usage('-P/--keypasswordfile needs -K/--keyfile.');
  if (input.password !== undefined && input.passwordFile !== undefined) throw usage('--password and --password-file cannot be used together.');
  if (input.username === '') throw usage('-u/--username must not be empty.');

  let password: Buffer | undefined;
  if (input.password !== undefined) password = Buffer.from(input.password, 'utf8');
  if (input.passwordFile !== undefined) password = withoutTrailingNewline(await readInputFile(input.passwordFile));

  let settings: TlsSettings | undefined;
  if (tls) {
    const ca = input.caFile === undefined ? undefined : await readInputFile(input.caFile);
    if (ca !== undefined && input.caFile !== undefined) checkCertificates(ca, '-T/--cafile', input.caFile);
    const cert = input.certFile === undefined ? undefined : await readInputFile(input.certFile);
    if (cert !== undefined && input.certFile !== undefined) checkCertificates(cert, '-C/--certfile', input.certFile);
    const key = input.keyFile === undefined ? undefined : await readInputFile(input.keyFile);
    const passphrase = input.keyPasswordFile === undefined ? undefined : withoutTrailingNewline(await readInputFile(input.keyPasswordFile)).toString('utf8');
    if (key !== undefined && input.keyFile !== undefined) checkKey(key, passphrase, input.keyFile);
    settings = {
      ...(ca !== undefined ? { ca } : {}),
      ...(cert !== undefined ? { cert } : {}),
      ...(key !== undefined ? { key } : {}),
      ...(passphrase !== undefined ? { passphrase } : {}),
    };
  }
  return {
    ...(settings !== undefined ? { tls: settings } : {}),
    ...(input.username !== undefined ? { username: input.username } : {}),
    ...(password !== undefined ? { password } : {}),
  };
}
