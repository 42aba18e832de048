import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { alive, eventually, makeOpsHome, OPS_BIN, type OpsHome } from '../helpers/cli-ops.js';

let h: OpsHome | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

/** Pid of the process whose command line contains `needle` (from /proc), if any. */
function pidOf(needle: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const cmdline = (() => {
      try {
        return readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      } catch {
        return '';
      }
    })();
    if (cmdline.includes(needle) && Number(entry) !== process.pid) return Number(entry);
  }
  return undefined;
}

describe('Ctrl-C', () => {
  it('at a wizard prompt prints Cancelled., exits 130 and creates nothing', async () => {
    h = await makeOpsHome();
    // `script` gives the CLI a terminal, so the wizard asks; ^C typed there is what a user's Ctrl-C is.
    const child = execa('script', ['-qfec', `${process.execPath} ${OPS_BIN} create --instance wizard`, '/dev/null'], {
      env: { OPS_HOME: h.home, NO_COLOR: '1' },
      reject: false,
      timeout: 30_000,
    });
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    expect(await eventually(() => out.includes('Memory profile'), 20_000)).toBe(true);
    child.stdin?.write('\u0003');
    const result = await child;
    expect(result.exitCode).toBe(130);
    expect(out).toContain('Cancelled.');
    expect(out).not.toContain('Unexpected error');
    expect(existsSync(join(h.home, 'wizard'))).toBe(false);
  });

  it('while the broker starts stops it, removes the new instance, prints Cancelled. and exits 130', async () => {
    h = await makeOpsHome();
    const home = h.home;
    const child = execa(process.execPath, [OPS_BIN, 'create', '--instance', 'halfway', '--port', '0', '--secure-port', '0'], {
      env: { OPS_HOME: home, NO_COLOR: '1', OPS_START_TIMEOUT_MS: '60000' },
      reject: false,
      stdin: 'ignore',
      timeout: 60_000,
    });
    // Hold the broker before it can become ready, so the interrupt lands during "Starting...".
    const brokerPid = await eventually(() => pidOf(`--instance-dir ${join(home, 'halfway')}`), 20_000);
    expect(brokerPid).toBeDefined();
    const pid = brokerPid ?? 0;
    try {
      process.kill(pid, 'SIGSTOP');
      child.kill('SIGINT');
      const result = await child;
      expect(result.exitCode).toBe(130);
      expect(result.stderr).toContain('Cancelled.');
      expect(alive(pid)).toBe(false);
      expect(existsSync(join(home, 'halfway'))).toBe(false);
    } finally {
      if (alive(pid)) process.kill(pid, 'SIGKILL'); // a stopped broker is never left behind, even when the test fails
    }
  });
});
