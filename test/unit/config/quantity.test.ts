import { describe, expect, it } from 'vitest';
import { MIN_PERSISTENCE_BYTES, parseQuantity } from '../../../src/config/quantity.js';

describe('parseQuantity', () => {
  it.each([
    ['500M', 500e6],
    ['2G', 2e9],
    ['1.5G', 1.5e9],
    ['10Gi', 10 * 2 ** 30],
    ['64Ki', 64 * 1024],
    ['10GiB', 10 * 2 ** 30],
    ['512MiB', 512 * 2 ** 20],
    ['1TiB', 2 ** 40],
    ['4KiB', 4096],
    ['123', 123],
  ])('%s is %d bytes', (text, bytes) => {
    expect(parseQuantity(text)).toBe(bytes);
  });

  it.each(['10gib', '10GB', '10 Gi', 'Gi', '-1G', '1e9', '10Gib', ''])('%j is not a size', (text) => {
    expect(parseQuantity(text)).toBeUndefined();
  });

  it('the AIO docs example 10GiB (howto-broker-persistence) is above the 100 MB floor, 100MiB too, 95MiB is not', () => {
    expect(parseQuantity('10GiB')! > MIN_PERSISTENCE_BYTES).toBe(true);
    expect(parseQuantity('100MiB')! > MIN_PERSISTENCE_BYTES).toBe(true);
    expect(parseQuantity('95MiB')! > MIN_PERSISTENCE_BYTES).toBe(false);
  });
});
