/**
 * Degraded mode's tracker without Redis: a short WAIT flags a master once (one warning), later
 * batches wait for the replicas in sync only, and `INFO replication` is read defensively.
 */
import { describe, expect, it } from 'vitest';
import { DegradedMasters, replicasInSync } from '../../../../src/storage/redis/degraded-masters.js';
import { levelLogger } from '../../../helpers/recording-logger.js';

const INFO = (lines: string[]): Buffer => Buffer.from(['# Replication', ...lines, ''].join('\r\n'));

describe('replicasInSync (INFO replication)', () => {
  it('counts the replicas whose state is online', () => {
    expect(replicasInSync(INFO(['role:master', 'connected_slaves:2', 'slave0:ip=127.0.0.1,port=7001,state=online,offset=10,lag=0', 'slave1:ip=127.0.0.1,port=7002,state=wait_bgsave,offset=0,lag=0']))).toBe(1);
    expect(replicasInSync(INFO(['role:master', 'connected_slaves:0']))).toBe(0);
  });

  it('is undefined for a replica, an error or garbage; a state=online elsewhere in the line does not count', () => {
    expect(replicasInSync(INFO(['role:slave', 'slave0:ip=x,port=1,state=online']))).toBeUndefined();
    expect(replicasInSync(null)).toBeUndefined();
    expect(replicasInSync(3)).toBeUndefined();
    expect(replicasInSync(INFO(['role:master', 'slave0:ip=state=onlinex,port=1,state=wait_bgsave']))).toBe(0);
  });
});

describe('DegradedMasters', () => {
  it('flags once with a warning, waits for the replicas in sync only, lists the partition, forgets a node that is no longer a master', async () => {
    const logger = levelLogger('info');
    let masters = ['127.0.0.1:1', '127.0.0.1:2'];
    const tracker = new DegradedMasters({ logger, wanted: 2, masters: () => masters, connectTimeoutMs: 50, commandTimeoutMs: 50, probeIntervalMs: 10 });
    expect(tracker.replicasFor('127.0.0.1:1')).toBe(2);
    expect(tracker.acceptShortWait({ node: '127.0.0.1:1', acknowledged: 1, wanted: 2 })).toBe(true);
    expect(tracker.acceptShortWait({ node: '127.0.0.1:1', acknowledged: 0, wanted: 2 })).toBe(true);
    expect(tracker.replicasFor('127.0.0.1:1')).toBe(0);
    expect(tracker.replicasFor('127.0.0.1:2')).toBe(2);
    expect(tracker.list()).toEqual([{ node: '127.0.0.1:1', since: expect.any(Number), replicasInSync: 0, wanted: 2 }]);
    expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    expect(logger.lines[0]?.fields).toMatchObject({ node: '127.0.0.1:1', replicasInSync: 1, wanted: 2 });
    masters = ['127.0.0.1:2'];
    await logger.waitFor((l) => l.level === 'info' && l.fields['node'] === '127.0.0.1:1');
    expect(tracker.list()).toEqual([]);
    tracker.close();
    expect(tracker.acceptShortWait({ node: '127.0.0.1:2', acknowledged: 0, wanted: 2 })).toBe(false);
  });

  it('flags a master that a topology lists with fewer replicas than wanted, before any WAIT', () => {
    const logger = levelLogger('info');
    const tracker = new DegradedMasters({ logger, wanted: 1, masters: () => ['h:1', 'h:2'], connectTimeoutMs: 50, commandTimeoutMs: 50, probeIntervalMs: 60_000 });
    tracker.noteReplicaCounts(new Map([['h:1', 1], ['h:2', 0]]));
    expect(tracker.replicasFor('h:1')).toBe(1);
    expect(tracker.replicasFor('h:2')).toBe(0);
    expect(tracker.list().map((d) => d.node)).toEqual(['h:2']);
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]?.fields).toMatchObject({ node: 'h:2', seenBy: 'CLUSTER SLOTS' });
    tracker.close();
  });
});
