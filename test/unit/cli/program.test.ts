import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inProcessOps } from '../../helpers/cli-in-process.js';

/** Never created: every command here fails before touching an instance. */
const HOME = join(tmpdir(), 'ops-unit-never-created');

const run = inProcessOps(HOME);

afterAll(() => {
  expect(existsSync(HOME)).toBe(false);
});

describe('ops program', () => {
  it.each([
    ['create'],
    ['delete'],
    ['broker', 'persist', 'update'],
    ['broker', 'listener', 'apply'],
    ['broker', 'authn', 'list'],
    ['broker', 'authz', 'delete'],
    ['broker', 'run'],
    ['broker', 'stats'],
    ['broker', 'log-level', 'set'],
  ])('%s has help with examples (exit 0)', async (...path) => {
    const r = await run(...path, '--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('Examples:');
    expect(r.out).toContain('--instance');
  });

  it('exits 2 on usage errors', async () => {
    expect((await run('broker', 'nope')).code).toBe(2);
    expect((await run('broker', 'show', '-o', 'xml')).code).toBe(2);
    expect((await run('broker', 'listener', 'apply', '--name', 'x')).err).toContain("required option '--config-file <file>' not specified");
  });

  it('maps coded errors to their exit code with a hint', async () => {
    const r = await run('broker', 'status', '--instance', 'ghost');
    expect(r.code).toBe(4);
    expect(r.err).toContain(`error: Instance 'ghost' does not exist under ${HOME}.`);
    expect(r.err).toContain('hint: ');
    expect(r.err).toContain('(INST_NOT_FOUND, exit code 4)');
    expect((await run('create', '--instance', 'Bad_Name')).code).toBe(2);
  });

  it('maps the create flags and checks them before touching any instance', async () => {
    const noSize = await run('create', '--instance', 'x', '--persist-mode', 'retain=All', 'stateStore=None');
    expect(noSize.code).toBe(2);
    expect(noSize.err).toContain('error: Provide a persist max size value to enable and customize broker disk persistence.');
    const badMode = await run('create', '--instance', 'x', '--persist-max-size', '1Gi', '--persist-mode', 'retain=Most');
    expect(badMode.err).toContain("Invalid persistence mode value: Most. Valid values are ['None', 'All', 'Custom'].");
    const profile = await run('create', '--instance', 'x', '--broker-mem-profile', 'huge');
    expect(profile.err).toContain("argument --broker-mem-profile: invalid choice: 'huge'");
    expect((await run('create', '--port', '70000')).code).toBe(2);
    expect((await run('create', '--broker-backend-workers', 'two')).err).toContain("'two' is not an integer.");
  });

  it('refuses a persistence size under the 100 MB rule, or not a size, before anything is created (exit 2)', async () => {
    const small = await run('create', '--instance', 'x', '--persist-max-size', '50M');
    expect(small.code).toBe(2);
    expect(small.err).toContain('error: argument --persist-max-size: must be greater than 100 MB (got "50M")');
    expect(small.err).toContain('(CFG_FLAG_INVALID, exit code 2)');
    const typo = await run('create', '--instance', 'x', '--persist-max-size', '10gb');
    expect(typo.code).toBe(2);
    expect(typo.err).toContain('argument --persist-max-size: must be a size such as 10Gi, 10GiB, 500M or 2G (got "10gb")');
  });

  it('refuses a home so deep that the admin socket path would not fit a Unix socket, before creating anything (exit 2)', async () => {
    const deepHome = join(tmpdir(), 'ops-unit-never-created-deep', 'x'.repeat(120));
    const r = await inProcessOps(deepHome)('create', '--instance', 'deep', '--port', '0', '--secure-port', '0');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/The admin socket path .*admin\.sock has \d+ bytes, more than the 107 a Unix socket path may have/);
    expect(r.err).toContain('(INST_PATH_TOO_LONG, exit code 2)');
    expect(existsSync(join(tmpdir(), 'ops-unit-never-created-deep'))).toBe(false);
  });

  it('validates files without creating anything', async () => {
    const fixture = new URL('../../../fixtures/config/valid/listener--complex.json', import.meta.url).pathname;
    const ok = await run('validate', '--config-file', fixture, '--kind', 'listener');
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('is a valid listener config');
    const bad = await run('validate', '--broker-config-file', fixture);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('  - ports: is not a known property here');
  });
});
