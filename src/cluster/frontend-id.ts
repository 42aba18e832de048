import { randomBytes } from 'node:crypto';

/** A new frontend id: 12 random bytes, base64url (16 characters, no brace or colon). */
export function newFrontendId(): string {
  return randomBytes(12).toString('base64url');
}
