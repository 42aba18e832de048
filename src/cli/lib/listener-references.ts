/**
 * What a listener's ports name that does not exist: an `authenticationRef` or `authorizationRef`
 * naming no resource, or a Manual TLS secret whose files are missing. Such a listener is stored and
 * applied (it works once the resource is created), so `apply` warns with these lines and
 * `listener show` lists them with each port's state.
 */
import type { ListenerProperties } from '../../config/types.js';
import type { RuntimeState } from '../../config/runtime-state.js';
import { findTlsSecret } from '../../instance/secret-folder.js';

/** One missing thing a port names. */
export interface MissingReference {
  readonly listener: string;
  readonly port: number;
  /** The config field that names it, e.g. `authenticationRef`, `tls.manual.secretRef`. */
  readonly field: string;
  readonly name: string;
  /** What is missing, what the port does meanwhile, and how to create it. */
  readonly message: string;
}

/** The missing references of listener `name` (its stored properties `props`) against `state` and the secrets folder. */
export function missingReferences(name: string, props: ListenerProperties, state: RuntimeState, secretsDir: string): MissingReference[] {
  const out: MissingReference[] = [];
  const has = (collection: Record<string, unknown>, key: string) => Object.hasOwn(collection, key);
  for (const port of props.ports) {
    const at = `listener '${name}' port ${port.port}`;
    const push = (field: string, ref: string, message: string) => out.push({ listener: name, port: port.port, field, name: ref, message: `${at}: ${message}` });
    const authn = port.authenticationRef;
    if (authn !== undefined && !has(state.authentications, authn)) {
      push('authenticationRef', authn, `authenticationRef '${authn}' names no authentication resource; the port refuses every client until it exists ('ops broker authn apply -n ${authn} --config-file FILE').`);
    }
    const authz = port.authorizationRef;
    if (authn !== undefined && authz !== undefined && !has(state.authorizations, authz)) {
      push('authorizationRef', authz, `authorizationRef '${authz}' names no authorization resource; the port denies everything until it exists ('ops broker authz apply -n ${authz} --config-file FILE').`);
    }
    const secretRef = port.tls?.mode === 'Manual' ? port.tls.manual?.secretRef : undefined;
    if (secretRef !== undefined) {
      const found = findTlsSecret(secretsDir, secretRef, 'tls.manual.secretRef');
      if ('problem' in found) push('tls.manual.secretRef', secretRef, `${found.problem}; the port is not served until then.`);
    }
  }
  return out;
}
