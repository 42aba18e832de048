/** Fencing tokens (docs/reference/state-store-protocol.md §3.5). */
import { ERR, type StateStoreErrorMessage } from './constants.js';
import { compareHlc, type Hlc } from '../../shared/hlc-text.js';

/**
 * Checks a SET/DEL/VDEL request token against the token protecting a live key.
 * Returns the error message to send, or `undefined` when the request may proceed.
 */
export function checkFencingToken(stored: Hlc | undefined, requested: Hlc | undefined): StateStoreErrorMessage | undefined {
  if (stored === undefined) return undefined;
  if (requested === undefined) return ERR.fencingTokenRequired;
  if (compareHlc(requested, stored) < 0) return ERR.fencingTokenLower;
  return undefined;
}

/** The token a key keeps after a successful SET: the newer of the stored and requested tokens. */
export function nextFencingToken(stored: Hlc | undefined, requested: Hlc | undefined): Hlc | undefined {
  if (stored === undefined) return requested;
  if (requested === undefined) return stored;
  return compareHlc(requested, stored) > 0 ? requested : stored;
}
