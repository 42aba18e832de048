/**
 * Kubernetes quantities (`10Gi`, `500M`, `2G`) as byte counts, for the persistence size rule. The IEC
 * spellings `KiB/MiB/GiB/TiB/PiB/EiB` are accepted too, as the binary units: the AIO persistence
 * docs' own example is `maxSize: "10GiB"`, and the API itself has no pattern.
 */

const SUFFIX: Readonly<Record<string, number>> = {
  '': 1,
  k: 1e3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
  PiB: 2 ** 50,
  EiB: 2 ** 60,
};

/** Smallest persistence size the docs allow is "greater than 100 MB": this many bytes. */
export const MIN_PERSISTENCE_BYTES = 100e6;

/** Bytes of a quantity like `10Gi`; undefined when it is not one. */
export function parseQuantity(text: string): number | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?)(KiB|MiB|GiB|TiB|PiB|EiB|Ki|Mi|Gi|Ti|Pi|Ei|k|K|M|G|T|P|E)?$/.exec(text);
  if (!m) return undefined;
  const factor = SUFFIX[m[2] ?? ''];
  return factor === undefined ? undefined : Number(m[1]) * factor;
}

/** Message of the persistence size rule when `text` breaks it (not a size, or not more than 100 MB); undefined when it holds. */
export function persistenceSizeProblem(text: string): string | undefined {
  const bytes = parseQuantity(text);
  if (bytes === undefined) return `must be a size such as 10Gi, 10GiB, 500M or 2G (got ${JSON.stringify(text)})`;
  return bytes > MIN_PERSISTENCE_BYTES ? undefined : `must be greater than 100 MB (got ${JSON.stringify(text)})`;
}
