import { describe, expect, it } from 'vitest';
import { BackendUsage, datasetBytesOf } from '../../../../src/storage/redis/backend-usage.js';
import { RedisErrorReply, type RedisCommand, type RedisReply } from '../../../../src/storage/redis/cluster-commands.js';

const info = (dataset: number | string): Buffer => Buffer.from(`# Memory\r\nused_memory:2000000\r\nused_memory_dataset:${dataset}\r\nused_memory_dataset_perc:1.00%\r\n`);

/** Masters answering `INFO memory` with `datasets` and `DBSIZE` with 10 each; `fail` makes every call reject. */
function masters(datasets: (number | string)[]): { execOnMasters: (command: RedisCommand) => Promise<RedisReply[]>; fail: boolean; datasets: (number | string)[] } {
  const fake = {
    fail: false,
    datasets,
    execOnMasters: async (command: RedisCommand): Promise<RedisReply[]> => {
      if (fake.fail) throw new Error('connection lost');
      return command[0] === 'DBSIZE' ? fake.datasets.map(() => 10) : fake.datasets.map(info);
    },
  };
  return fake;
}

describe('datasetBytesOf', () => {
  it('reads used_memory_dataset and refuses anything else', () => {
    expect(datasetBytesOf(info(12345))).toBe(12345);
    expect(datasetBytesOf(Buffer.from('used_memory_dataset:7'))).toBe(7);
    expect(datasetBytesOf(Buffer.from('used_memory:5\r\n'))).toBeUndefined();
    expect(datasetBytesOf(Buffer.from('used_memory_dataset:-3\r\n'))).toBeUndefined();
    expect(datasetBytesOf(Buffer.from('used_memory_dataset:99999999999999999999\r\n'))).toBeUndefined();
    expect(datasetBytesOf(Buffer.from('xused_memory_dataset:5\r\n'))).toBeUndefined();
    expect(datasetBytesOf(new RedisErrorReply('ERR'))).toBeUndefined();
    expect(datasetBytesOf(42)).toBeUndefined();
    expect(datasetBytesOf(null)).toBeUndefined();
  });
});

describe('BackendUsage', () => {
  it('sums the masters, adds what this frontend wrote since the read, and keeps the last figure when a read fails', async () => {
    const fake = masters([100, 200, 300]);
    const usage = new BackendUsage({ commands: fake, limitBytes: 1000, refreshMs: 60_000 });
    try {
      expect(usage.usedBytes).toBe(0);
      await usage.refresh();
      expect(usage.usedBytes).toBe(600);
      expect(usage.keys).toBe(30);
      expect(usage.full).toBe(false);
      usage.wrote(399);
      expect(usage.full).toBe(false);
      usage.wrote(1);
      expect(usage.usedBytes).toBe(1000);
      expect(usage.full).toBe(true);
      fake.fail = true;
      await usage.refresh();
      expect(usage.usedBytes).toBe(1000); // the last figure stands
      fake.fail = false;
      fake.datasets = [100, 100, 100];
      await usage.refresh();
      expect(usage.usedBytes).toBe(300); // the writes are in the masters' figure now
      expect(usage.full).toBe(false);
      fake.datasets = [100, 'x'];
      await usage.refresh();
      expect(usage.usedBytes).toBe(300); // a malformed reply is a failed read
    } finally {
      usage.close();
    }
  });

  it('without a limit is never full; a limit must be a positive integer', async () => {
    const usage = new BackendUsage({ commands: masters([1e12]), refreshMs: 60_000 });
    await usage.refresh();
    expect(usage.full).toBe(false);
    usage.close();
    expect(() => new BackendUsage({ commands: masters([]), limitBytes: 0 })).toThrow(RangeError);
    expect(() => new BackendUsage({ commands: masters([]), limitBytes: 1, refreshMs: 0 })).toThrow(RangeError);
  });
});
