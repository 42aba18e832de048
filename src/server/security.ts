/**
 * The security of every listener port, from runtime.json's listeners, authentications and
 * authorizations: compiled when what a port uses changes, read by the ports' hooks at every decision (so
 * `ops broker listener|authn|authz apply` take effect live). `update` tells which ports' security
 * changed; the runtime disconnects their clients, as AIO does when authorization changes.
 */
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { BrokerHooks } from '../broker/hooks.js';
import type { RuntimeState } from '../config/runtime-state.js';
import { compileAuthorization, type Authorizer } from '../security/authorization.js';
import type { AuthnMethod, AuthnMethodConfig } from '../security/authn/method.js';
import { createAuthnMethod } from '../security/authn/methods.js';
import { parsePasswd, type PasswdEntry } from '../security/passwd.js';
import { ClientDirectory, createPortHooks, type PortSecurity } from '../security/port-hooks.js';
import { WorkGate } from '../security/work-gate.js';
import type { Logger } from '../shared/log.js';

const OPEN: PortSecurity = { authnName: undefined, authnMethods: undefined, authorizer: undefined };
/** Rules of an `authorizationRef` naming no resource: deny everything. */
const DENY_ALL = compileAuthorization({ authorizationPolicies: { rules: [] } });

/** At most this many rules are kept compiled by name (more than any config has resources). */
const MAX_NAMED = 1000;

const keyOf = (listener: string, port: number): string => `${listener}:${port}`;

/** Port security of the running instance. */
export class PortSecurityTable {
  /** Which port each accepted client came in on (state store authorization). */
  readonly directory = new ClientDirectory();
  /** Password checks of every port, bounded together (see work-gate.ts). */
  readonly passwordChecks = new WorkGate();
  #ports = new Map<string, { security: PortSecurity; fingerprint: string }>();
  /** The authorization resources of the last update, by name (cluster-wide: the same on every frontend). */
  #authorizations = new Map<string, RuntimeState['authorizations'][string]>();
  /** Rules compiled by {@link authorizerNamed}, emptied at each update. */
  readonly #named = new Map<string, Authorizer>();
  readonly #hooks = new Map<string, BrokerHooks>();
  #badLinesReported = '';

  /**
   * @param passwdPath the instance's password file (`<instance>/secrets/passwd`), read at each authentication.
   * @param secretsDir where methods find referenced secrets and config maps (`secrets/NAME/`); default the password file's folder.
   */
  constructor(
    private readonly passwdPath: string,
    private readonly logger: Logger,
    private readonly secretsDir: string = dirname(passwdPath),
  ) {}

  /**
   * Compiles the security of the ports of `state` whose resources changed (a port whose
   * authentication, authorization and TLS presence are unchanged keeps what it had: a change of one
   * resource recompiles only the ports that name it); returns the `listener:port` keys (present
   * before and after) whose security changed.
   */
  update(state: RuntimeState): string[] {
    const next = new Map<string, { security: PortSecurity; fingerprint: string }>();
    const compiled = new Map<string, Authorizer>();
    const compiledMethods = new Map<string, readonly AuthnMethod[]>();
    // Maps, not the parsed objects: a ref like `constructor` or `__proto__` must find nothing, not Object.prototype's members
    const authentications = new Map(Object.entries(state.authentications));
    const authorizations = new Map(Object.entries(state.authorizations));
    for (const [listener, raw] of Object.entries(state.listeners)) {
      for (const port of raw.ports) {
        const authnName = port.authenticationRef;
        const authn = authnName === undefined ? undefined : authentications.get(authnName);
        const authzName = authnName === undefined ? undefined : port.authorizationRef; // AIO: authz needs authn
        const authz = authzName === undefined ? undefined : authorizations.get(authzName);
        const key = keyOf(listener, port.port);
        const fingerprint = JSON.stringify([authnName, authn, authzName, authz, port.tls === undefined]);
        const unchanged = this.#ports.get(key);
        if (unchanged?.fingerprint === fingerprint) {
          next.set(key, unchanged); // nothing this port uses changed: its compiled methods and rules stay
          continue;
        }
        let authorizer: Authorizer | undefined;
        if (authzName !== undefined) {
          authorizer = compiled.get(authzName) ?? (authz === undefined ? DENY_ALL : compileAuthorization(authz));
          compiled.set(authzName, authorizer);
          if (authz === undefined) this.logger.warn({ listener, port: port.port }, `authorization '${authzName}' does not exist: the port denies everything`);
        }
        if (authnName !== undefined && authn === undefined) this.logger.warn({ listener, port: port.port }, `authentication '${authnName}' does not exist: the port refuses every client`);
        let methods: readonly AuthnMethod[] | undefined;
        if (authnName !== undefined && authn !== undefined) {
          methods = compiledMethods.get(authnName) ?? this.#compileMethods(authn.authenticationMethods as readonly AuthnMethodConfig[]);
          compiledMethods.set(authnName, methods);
          if (port.tls === undefined && methods.some((m) => m.name === 'X509')) this.logger.warn({ listener, port: port.port }, `authentication '${authnName}' uses X509, which needs TLS on the port: X509 does not apply to this port's clients`);
        }
        const security: PortSecurity = authnName === undefined ? OPEN : { authnName, authnMethods: methods, authorizer, authzName };
        next.set(key, { security, fingerprint });
      }
    }
    this.#authorizations = authorizations;
    this.#named.clear();
    const changed = [...next].filter(([key, v]) => this.#ports.has(key) && this.#ports.get(key) !== v).map(([key]) => key);
    this.#ports = next;
    return changed;
  }

  /**
   * The compiled rules of the authorization resource `name` (cluster mode: a requester connected to
   * another frontend through a port naming it); a name that names no resource denies everything,
   * as on a port.
   */
  authorizerNamed(name: string): Authorizer {
    let authorizer = this.#named.get(name);
    if (authorizer === undefined) {
      const resource = this.#authorizations.get(name);
      authorizer = resource === undefined ? DENY_ALL : compileAuthorization(resource);
      if (this.#named.size >= MAX_NAMED) this.#named.clear(); // names come from other frontends: bounded
      this.#named.set(name, authorizer);
    }
    return authorizer;
  }

  /** Compiles a resource's methods, in order (AIO tries them in order). */
  #compileMethods(configs: readonly AuthnMethodConfig[] | undefined): readonly AuthnMethod[] {
    return (configs ?? []).map((config) => createAuthnMethod(config, { logger: this.logger, secretsDir: this.secretsDir }));
  }

  /** The security of a port now (open when the port is unknown). */
  security(listener: string, port: number): PortSecurity {
    return this.#ports.get(keyOf(listener, port))?.security ?? OPEN;
  }

  /**
   * The hooks of a port (made once per port; they read the current security at each decision), or
   * undefined while the port is open: its connections need none (the engine allows all), and a
   * change that secures the port disconnects them (see `update`).
   */
  hooksOf(listener: string, port: number): BrokerHooks | undefined {
    const key = keyOf(listener, port);
    if ((this.#ports.get(key)?.security ?? OPEN) === OPEN) return undefined;
    let hooks = this.#hooks.get(key);
    if (hooks === undefined) {
      hooks = createPortHooks({
        security: () => this.#ports.get(key)?.security ?? OPEN,
        passwd: () => this.#readPasswd(),
        logger: this.logger,
        where: { listener, port },
        directory: this.directory,
        passwordChecks: this.passwordChecks,
      });
      this.#hooks.set(key, hooks);
    }
    return hooks;
  }

  async #readPasswd(): Promise<ReadonlyMap<string, PasswdEntry> | undefined> {
    let text: string;
    try {
      text = await readFile(this.passwdPath, 'utf8');
    } catch {
      return undefined;
    }
    const { entries, badLines } = parsePasswd(text);
    const report = badLines.join(',');
    if (report !== '' && report !== this.#badLinesReported) this.logger.warn({ path: this.passwdPath, lines: report }, 'password file lines skipped (malformed)');
    this.#badLinesReported = report;
    return entries;
  }
}
