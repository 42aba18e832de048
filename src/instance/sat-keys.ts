/**
 * The keys of the local ServiceAccountToken stand-in, under an instance's `secrets/sat/`:
 * - `signing-key.pem`: the instance's Ed25519 private key (PKCS#8 PEM, mode 0600), made on first
 *   need by whoever needs it first (`ops broker token create` or the broker's first K8S-SAT
 *   CONNECT), written once atomically so concurrent makers agree on one key;
 * - `signing-key.pub.pem`: its public key (SPKI PEM), for verifying tokens elsewhere;
 * - `trusted/*.pem`: further public keys (SPKI PEM: Ed25519, EC P-256, RSA >= 2048) whose tokens the
 *   broker also accepts, e.g. a Kubernetes cluster's service account issuer key.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { algorithmOf, keyIdOf, type TrustedKey } from '../shared/jwt.js';
import { writeFileOnce } from './files.js';
import { reasonOf } from '../shared/errors.js';

/** Files of the SAT keys of an instance whose secrets folder is `secretsDir`. */
export function satKeyPaths(secretsDir: string): { readonly dir: string; readonly signingKey: string; readonly publicKey: string; readonly trustedDir: string } {
  const dir = join(secretsDir, 'sat');
  return { dir, signingKey: join(dir, 'signing-key.pem'), publicKey: join(dir, 'signing-key.pub.pem'), trustedDir: join(dir, 'trusted') };
}

/** The instance's signing key, with its id and file. */
export interface SigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly kid: string;
  readonly path: string;
  readonly publicKeyPath: string;
}

/** The signing key of the instance, made (Ed25519, 0600) when it does not exist yet. */
export async function ensureSigningKey(secretsDir: string): Promise<SigningKey> {
  const paths = satKeyPaths(secretsDir);
  let pem = await readFile(paths.signingKey, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (pem === undefined) {
    await mkdir(paths.dir, { recursive: true, mode: 0o700 });
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const made = await writeFileOnce(paths.signingKey, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600);
    if (made) await writeFileOnce(paths.publicKey, publicKey.export({ type: 'spki', format: 'pem' }).toString(), 0o644);
    pem = await readFile(paths.signingKey, 'utf8'); // another maker may have won the race: use its key
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (err) {
    throw new Error(`${paths.signingKey} is not a PEM private key (${reasonOf(err)})`, { cause: err });
  }
  if (algorithmOf(privateKey) === undefined) throw new Error(`${paths.signingKey} is a ${privateKey.asymmetricKeyType ?? 'unknown'} key, which cannot sign tokens`);
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, kid: keyIdOf(publicKey), path: paths.signingKey, publicKeyPath: paths.publicKey };
}

/** Keys the broker accepts tokens from, and the files it skipped (with why). */
export interface SatKeyring {
  readonly keys: readonly TrustedKey[];
  readonly skipped: readonly string[];
}

/** The instance's public key (the signing key is made if needed) and the trusted folder's keys. */
export async function loadSatKeyring(secretsDir: string): Promise<SatKeyring> {
  const signing = await ensureSigningKey(secretsDir);
  const keys: TrustedKey[] = [{ kid: signing.kid, alg: 'EdDSA', key: signing.publicKey, source: signing.path }];
  const skipped: string[] = [];
  const { trustedDir } = satKeyPaths(secretsDir);
  const names = await readdir(trustedDir).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.endsWith('.pem')).sort()) {
    const path = join(trustedDir, name);
    try {
      const key = createPublicKey(await readFile(path, 'utf8'));
      const alg = algorithmOf(key);
      if (alg === undefined) skipped.push(`${path}: a ${key.asymmetricKeyType ?? 'unknown'} key is not usable (Ed25519, EC P-256 or RSA >= 2048)`);
      else keys.push({ kid: keyIdOf(key), alg, key, source: path });
    } catch (err) {
      skipped.push(`${path}: not a PEM public key (${reasonOf(err)})`);
    }
  }
  return { keys, skipped };
}
