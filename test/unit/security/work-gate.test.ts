import { describe, expect, it } from 'vitest';
import { PASSWORD_CHECK_LIMITS, WorkGate } from '../../../src/security/work-gate.js';

/** A task that finishes when the test says so. */
function manualTask(): { task: () => Promise<string>; started: () => boolean; finish: (value: string) => void } {
  let resolve: (value: string) => void = () => undefined;
  let started = false;
  const promise = new Promise<string>((r) => (resolve = r));
  return {
    task: () => {
      started = true;
      return promise;
    },
    started: () => started,
    finish: (value) => resolve(value),
  };
}

describe('WorkGate', () => {
  it('password checks default to 2 running, 64 waiting, 8 waiting per address', () => {
    expect(PASSWORD_CHECK_LIMITS).toEqual({ maxRunning: 2, maxWaiting: 64, maxWaitingPerKey: 8 });
  });

  it('runs at most maxRunning at once; the waiting start in order as places free up', async () => {
    const gate = new WorkGate({ maxRunning: 2, maxWaiting: 10, maxWaitingPerKey: 10 });
    const tasks = [manualTask(), manualTask(), manualTask(), manualTask()];
    const results = tasks.map((t, i) => gate.run(`k${i}`, t.task));
    expect(tasks.map((t) => t.started())).toEqual([true, true, false, false]);
    expect([gate.running, gate.waiting]).toEqual([2, 2]);
    tasks[1]?.finish('b');
    expect(await results[1]).toBe('b');
    expect(tasks.map((t) => t.started())).toEqual([true, true, true, false]);
    tasks[0]?.finish('a');
    tasks[2]?.finish('c');
    await results[2];
    expect(tasks[3]?.started()).toBe(true);
    tasks[3]?.finish('d');
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c', 'd']);
    expect([gate.running, gate.waiting]).toEqual([0, 0]);
  });

  it('refuses (never queues, never calls) beyond maxWaiting, and beyond maxWaitingPerKey for one key', async () => {
    const gate = new WorkGate({ maxRunning: 1, maxWaiting: 3, maxWaitingPerKey: 2 });
    const running = manualTask();
    expect(gate.run('flood', running.task)).toBeDefined();
    expect(gate.run('flood', manualTask().task)).toBeDefined();
    expect(gate.run('flood', manualTask().task)).toBeDefined();
    const refused = manualTask();
    expect(gate.run('flood', refused.task)).toBeUndefined(); // the address's waiting places are taken
    expect(refused.started()).toBe(false);
    expect(gate.run('other', manualTask().task)).toBeDefined(); // another address still gets a place
    expect(gate.run('third', manualTask().task)).toBeUndefined(); // every waiting place is taken
    expect([gate.running, gate.waiting]).toEqual([1, 3]);
  });

  it('a freed place goes to the oldest waiting task of a key with nothing running (a quiet address does not queue behind a flood)', async () => {
    const gate = new WorkGate({ maxRunning: 1, maxWaiting: 10, maxWaitingPerKey: 10 });
    const flood = [manualTask(), manualTask(), manualTask()];
    const quiet = manualTask();
    const results = [...flood.map((t) => gate.run('flood', t.task)), gate.run('quiet', quiet.task)];
    flood[0]?.finish('f0');
    await results[0];
    expect([flood[1]?.started(), quiet.started()]).toEqual([false, true]);
    quiet.finish('q');
    await results[3];
    expect(flood[1]?.started()).toBe(true); // then the flood, in order
    flood[1]?.finish('f1');
    await results[1];
    flood[2]?.finish('f2');
    expect(await Promise.all(results)).toEqual(['f0', 'f1', 'f2', 'q']);
  });

  it('a task that throws or rejects frees its place', async () => {
    const gate = new WorkGate({ maxRunning: 1, maxWaiting: 1, maxWaitingPerKey: 1 });
    await expect(
      gate.run('k', () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    await expect(gate.run('k', () => Promise.reject(new Error('no')))).rejects.toThrow('no');
    expect(await gate.run('k', () => Promise.resolve(1))).toBe(1);
    expect(gate.running).toBe(0);
  });
});
