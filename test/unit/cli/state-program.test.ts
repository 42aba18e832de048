import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inProcessOps } from '../../helpers/cli-in-process.js';

/** Never created: every command here fails before connecting or touching an instance. */
const HOME = join(tmpdir(), 'ops-unit-state-never-created');

const run = inProcessOps(HOME);

describe('ops state flags', () => {
  it.each([['state'], ['state', 'get'], ['state', 'set'], ['state', 'delete'], ['state', 'vdel'], ['state', 'watch']])('%s has help with examples', async (...path) => {
    const r = await run(...path, '--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('Examples:');
    if (path.length > 1) expect(r.out).toMatch(/--instance[\s\S]*--key[\s\S]*--hostname[\s\S]*--port/);
  });

  it.each([
    [['state', 'get']],
    [['state', 'get', '-k', 'a', '-o', 'yaml']],
    [['state', 'get', '-k', 'a', '-p', '0']],
    [['state', 'get', '-k', 'a', '-p', '70000']],
    [['state', 'set', '-k', 'a']],
    [['state', 'set', '-k', 'a', '--value', 'v', '-f', 'file']],
    [['state', 'set', '-k', 'a', '--value', 'v', '--nx', '--nex']],
    [['state', 'set', '-k', 'a', '--value', 'v', '--px', '0']],
    [['state', 'set', '-k', 'a', '--value', 'v', '--px', 'soon']],
    [['state', 'vdel', '-k', 'a']],
    [['state', 'vdel', '-k', 'a', '--value', 'v', '-f', 'file']],
    [['state', 'get', '-k', 'a', '--tls', '--notls']],
    [['state', 'get', '-k', 'a', '-K', 'key.pem']],
    [['state', 'get', '-k', 'a', '-u', 'u', '--password', 'p', '--password-file', 'f']],
    [['state', 'nope']],
  ])('%j is a usage error (exit 2)', async (argv) => {
    expect((await run(...argv)).code).toBe(2);
  });

  it.each([['-i', 'ghost'], ['--instance', 'ghost'], ['--instance=ghost'], ['-ighost']])('%s naming no instance is INST_NOT_FOUND, not a quiet talk to localhost:1883', async (...flags) => {
    const r = await run('state', 'get', '-k', 'a', ...flags);
    expect(r.code).toBe(4);
    expect(r.err).toContain("Instance 'ghost' does not exist");
    expect(r.err).toContain('(INST_NOT_FOUND, exit code 4)');
  });

  it('says what set needs', async () => {
    const r = await run('state', 'set', '-k', 'a');
    expect(r.err).toContain('needs exactly one of --value VALUE or -f/--valuefile FILE');
    expect(r.err).toContain('(CLI_USAGE, exit code 2)');
  });

  it('a missing value file is a file error, before any connection', async () => {
    const r = await run('state', 'set', '-k', 'a', '-f', join(HOME, 'missing.bin'), '-p', '1');
    expect(r.code).toBe(2);
    expect(r.err).toContain('(CFG_FILE_NOT_FOUND, exit code 2)');
  });
});
