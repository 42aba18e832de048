/** Keys for Redis Cluster tests. */
import { hashSlot, SLOT_COUNT } from '../../src/storage/redis/hash-slot.js';

let table: string[] | undefined;

/** A hash tag `{...}` for every slot: keysBySlot()[slot] hashes to `slot`. */
export function tagsBySlot(): readonly string[] {
  if (table !== undefined) return table;
  const found: (string | undefined)[] = new Array<string | undefined>(SLOT_COUNT).fill(undefined);
  let missing = SLOT_COUNT;
  for (let i = 0; missing > 0; i++) {
    const tag = `{t${i}}`;
    const slot = hashSlot(tag);
    if (found[slot] === undefined) {
      found[slot] = tag;
      missing--;
    }
  }
  table = found.map((tag) => tag ?? '');
  return table;
}
