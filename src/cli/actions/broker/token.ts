/**
 * `ops broker token create`: mints a service account token (a JWT signed with the instance's key
 * in `secrets/sat/`, made on first use) for the `ServiceAccountToken` authentication method. It
 * reads only files, so it works with the broker stopped. Every token pins its identity in `sub`
 * (`--subject`, default a generated `token-<random>`, printed), which must not be a password-file user.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parsePasswd } from '../../../security/passwd.js';
import { OpsError, reasonOf } from '../../../shared/errors.js';
import type { CliContext } from '../../context.js';
import { findInstance } from '../../lib/instance.js';
import { mintToken } from '../../lib/mint-token.js';
import { printValue, type OutputFormat } from '../../lib/output.js';

/** Longest token lifetime accepted: one year. */
const MAX_TTL_SECONDS = 365 * 24 * 3600;
const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Inputs of token create. */
export interface TokenCreateInput {
  readonly instance: string;
  readonly audiences: readonly string[];
  /** Lifetime like `90s`, `15m`, `1h`, `7d`, `1h30m`, or seconds; default 1h (as Kubernetes). */
  readonly ttl?: string;
  /** `k=v` pairs, claims `aio-broker-auth/k`. */
  readonly attributes?: readonly string[];
  /** `sub`: the identity the token pins (username for authorization, session owner); default a generated `token-<random>`. */
  readonly subject?: string;
  /** `client_id`: the only client id the token is good for. */
  readonly clientId?: string;
  /** json/yaml; the bare token when unset. */
  readonly output?: OutputFormat;
}

/** Parses a lifetime into seconds; `CLI_USAGE` when it is not one. */
export function parseTtl(text: string): number {
  const trimmed = text.trim();
  let seconds = 0;
  if (/^[0-9]+$/.test(trimmed)) seconds = Number(trimmed);
  else if (/^([0-9]+[smhd])+$/.test(trimmed)) {
    for (const m of trimmed.matchAll(/([0-9]+)([smhd])/g)) seconds += Number(m[1]) * (UNIT_SECONDS[m[2] ?? 's'] ?? 1);
  } else {
    throw new OpsError('CLI_USAGE', { message: `Invalid --ttl '${text}': use a duration like 90s, 15m, 1h, 7d or 1h30m.` });
  }
  if (seconds < 1 || seconds > MAX_TTL_SECONDS) throw new OpsError('CLI_USAGE', { message: `Invalid --ttl '${text}': it must be between 1 second and 365 days.` });
  return seconds;
}

/** Parses `k=v` attribute pairs. */
export function parseAttributes(pairs: readonly string[]): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new OpsError('CLI_USAGE', { message: `Invalid --attribute '${pair}': use key=value (e.g. --attribute group=sensors).` });
    attributes[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return attributes;
}

/** A subject for a token minted without `--subject`: `token-` and 12 random hex digits. */
export function generatedSubject(): string {
  return `token-${randomBytes(6).toString('hex')}`;
}

/** The usernames of the instance's password file (none without one). */
async function passwordUsers(path: string): Promise<ReadonlySet<string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
    throw new OpsError('INST_CORRUPT', { path, reason: reasonOf(error) });
  }
  return new Set(parsePasswd(text).entries.keys());
}

/** Runs `ops broker token create`. */
export async function runTokenCreate(input: TokenCreateInput, ctx: CliContext): Promise<void> {
  const paths = await findInstance(ctx, input.instance);
  const audiences = input.audiences.filter((a) => a !== '');
  if (audiences.length === 0) throw new OpsError('CLI_USAGE', { message: 'Give at least one non-empty --audience (one of the audiences of the ServiceAccountToken method).' });
  const ttl = parseTtl(input.ttl ?? '1h');
  const attributes = parseAttributes(input.attributes ?? []);
  if (input.subject === '') throw new OpsError('CLI_USAGE', { message: 'Invalid --subject: it must not be empty.' });
  if (input.clientId === '') throw new OpsError('CLI_USAGE', { message: 'Invalid --client-id: it must not be empty.' });
  // The token always pins an identity: without a subject the client would choose its username.
  const subject = input.subject ?? generatedSubject();
  if ((await passwordUsers(paths.passwd)).has(subject)) {
    throw new OpsError('CLI_USAGE', {
      message: `Invalid --subject '${subject}': it is a user of the password file (${paths.passwd}); a token's identity must not be a password user's (the broker refuses such tokens).`,
    });
  }

  const { token, issuedAt, keyId, publicKeyPath } = await mintToken(paths.secrets, paths.name, {
    audiences,
    ttlSeconds: ttl,
    attributes,
    subject,
    ...(input.clientId !== undefined ? { clientId: input.clientId } : {}),
  });
  if (input.output === undefined) {
    ctx.stdout.write(`${token}\n`);
    const generated = input.subject === undefined ? ' (generated; choose one with --subject)' : '';
    ctx.stderr.write(`Token for subject ${subject}${generated} and audience ${audiences.join(', ')}, valid until ${new Date((issuedAt + ttl) * 1000).toISOString()}; signed by key ${keyId} (${publicKeyPath}).\n`);
    return;
  }
  printValue(
    ctx,
    {
      token,
      audiences,
      subject,
      ...(input.clientId !== undefined ? { clientId: input.clientId } : {}),
      attributes,
      issuedAt: new Date(issuedAt * 1000).toISOString(),
      expiresAt: new Date((issuedAt + ttl) * 1000).toISOString(),
      keyId,
      publicKeyFile: publicKeyPath,
    },
    input.output,
    [
      { header: 'ExpiresAt', get: (r) => r['expiresAt'] },
      { header: 'Token', get: (r) => r['token'] },
    ],
  );
}
