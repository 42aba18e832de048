/** az fidelity of the parser: Azure scope flags, create short forms, argparse prefixes, global flags, error shape. */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inProcessOps } from '../../helpers/cli-in-process.js';

/** Never created: every command here fails before touching an instance. */
const HOME = join(tmpdir(), 'ops-unit-az-compat-never-created');
const run = inProcessOps(HOME);

afterAll(() => {
  expect(existsSync(HOME)).toBe(false);
});

const SCOPE_WARNING = /Azure scope, no local meaning here; ignored\./g;
const NOT_FOUND = '(INST_NOT_FOUND, exit code 4)';

describe('Azure scope flags', () => {
  it.each([
    [['create', '--persist-max-size', '50M']],
    [['delete', '--yes']],
    [['broker', 'show']],
    [['broker', 'persist', 'update', '--persist-mode', 'retain=All']],
    [['broker', 'listener', 'show', '-n', 'default']],
    [['broker', 'authn', 'list']],
    [['broker', 'authz', 'delete', '-n', 'x', '--yes']],
    [['broker', 'listener', 'port', 'add', '-n', 'default', '--port', '1884']],
    [['broker', 'stats']],
  ])('%j accepts -g, --cluster, --subscription, --sr-resource-id and -b default, with one line', async (argv) => {
    const r = await run(...argv, '-g', 'rg', '--cluster', 'c', '--subscription', 's', '--sr-resource-id', '/x', '-b', 'default');
    expect(r.err).not.toContain('unknown option');
    expect(r.err.match(SCOPE_WARNING)).toHaveLength(1);
    expect(r.err).toContain('--resource-group, --cluster, --subscription, --sr-resource-id, --broker');
  });

  it('accepts the long forms (--resource-group, --broker) too', async () => {
    const r = await run('delete', '--yes', '--resource-group', 'rg', '--broker', 'default');
    expect(r.err).toContain(NOT_FOUND);
    expect(r.err).toContain('warning: --resource-group, --broker: Azure scope');
  });

  it('says nothing when no scope flag is given', async () => {
    expect((await run('broker', 'show')).err).not.toMatch(SCOPE_WARNING);
  });

  it('-b must name the default broker: a usage error naming the flag', async () => {
    const r = await run('broker', 'listener', 'list', '-b', 'mybroker');
    expect(r.code).toBe(2);
    expect(r.err).toContain("-b/--broker: an instance has one broker, 'default' (got 'mybroker')");
    expect(r.err).toContain('(CLI_USAGE, exit code 2)');
  });

  it('keeps -n/--name of broker show (the broker name, default only)', async () => {
    expect((await run('broker', 'show', '-n', 'default')).err).toContain(NOT_FOUND);
  });
});

describe('create short forms', () => {
  it.each([
    ['--fr', '0', 'frontendReplicas value range min:1 max:16'],
    ['--fw', '17', 'frontendWorkers value range min:1 max:16'],
    ['--br', '1', 'backendRedundancyFactor value range min:2 max:5'],
    ['--bw', '0', 'backendWorkers value range min:1 max:16'],
    ['--bp', '0', 'backendPartitions value range min:1 max:16'],
  ])('%s is its long flag', async (alias, value, message) => {
    const r = await run('create', '--instance', 'x', alias, value);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
  });

  it('--mp is --broker-mem-profile', async () => {
    const r = await run('create', '--instance', 'x', '--mp', 'Huge');
    expect(r.code).toBe(2);
    expect(r.err).toContain('Huge');
    expect(r.err).not.toContain('unknown option');
  });

  it('lists the short forms in create --help', async () => {
    expect((await run('create', '--help')).out).toContain('--fr = --broker-frontend-replicas');
  });
});

describe('argparse prefixes', () => {
  it('completes an unambiguous prefix of a long option', async () => {
    // --persist-max is --persist-max-size: its value is checked, not reported as unknown.
    const r = await run('create', '--instance', 'x', '--persist-max', '50M');
    expect(r.code).toBe(2);
    expect(r.err).toContain('50M');
    expect(r.err).not.toContain('unknown option');
  });

  it('completes prefixes of the global flags after a subcommand, and --opt=value', async () => {
    const r = await run('broker', 'show', '--deb', '--inst=nope');
    expect(r.err).toContain("Instance 'nope' does not exist");
    expect(r.err).toContain('at requireInstance');
  });

  it('an ambiguous prefix is a usage error listing the candidates', async () => {
    const r = await run('create', '--persist', 'x');
    expect(r.code).toBe(2);
    expect(r.err).toContain('error: ambiguous option: --persist could match --persist-max-size, --persist-pvc-sc, --persist-mode');
    expect(r.err).toContain('(CLI_USAGE, exit code 2)');
  });

  it('leaves option values alone, even when they look like a prefix', async () => {
    const r = await run('broker', 'show', '--instance', '--deb');
    expect(r.err).toContain("'--deb'");
    expect(r.err).not.toContain('at requireInstance');
  });

  it('still reports an unknown option as unknown', async () => {
    expect((await run('broker', 'show', '--bogus')).err).toContain("error: unknown option '--bogus'");
  });
});

describe('global flags', () => {
  it('--only-show-errors drops warnings, not errors', async () => {
    const r = await run('broker', 'show', '-g', 'rg', '--only-show-errors');
    expect(r.err).not.toContain('warning:');
    expect(r.err).toContain(NOT_FOUND);
  });

  it('--debug prints the expanded command line and the stack of an error', async () => {
    const r = await run('--debug', 'broker', 'show', '--inst', 'nope');
    expect(r.err).toContain('debug: ops --debug broker show --instance nope');
    expect(r.err).toContain('at requireInstance');
    expect((await run('broker', 'show', '--instance', 'nope')).err).not.toContain('at requireInstance');
  });

  it('--debug masks the value of --password', async () => {
    const r = await run('--debug', 'state', 'get', '-k', 'x', '--instance', 'nope', '--password', 's3cret');
    expect(r.err).toContain('--password ***');
    expect(r.err).not.toContain('s3cret');
    const inline = await run('--debug', 'state', 'get', '-k', 'x', '--instance', 'nope', '--password=s3cret');
    expect(inline.err).toContain('--password=***');
    expect(inline.err).not.toContain('s3cret');
  });

  it('a bad --query is a usage error naming it, before the command runs', async () => {
    const r = await run('broker', 'show', '--query', 'properties.[');
    expect(r.code).toBe(2);
    expect(r.err).toContain("error: argument --query: invalid JMESPath expression 'properties.['");
    expect(r.err).not.toContain(NOT_FOUND);
  });

  it('--query on a command that prints no result is a usage error', async () => {
    const r = await run('broker', 'stop', '--query', 'name');
    expect(r.code).toBe(2);
    expect(r.err).toContain("--query: 'stop' prints no result to query.");
  });

  it('offers -o tsv|none|jsonc|yamlc beside json|yaml|table', async () => {
    const r = await run('broker', 'show', '-o', 'xml');
    expect(r.err).toContain('Allowed choices are json, jsonc, yaml, yamlc, table, tsv, none.');
    for (const format of ['tsv', 'none', 'jsonc', 'yamlc']) expect((await run('broker', 'show', '-o', format)).err).toContain(NOT_FOUND);
  });
});

describe('parser errors have the shape of every other error', () => {
  it.each([
    [['broker', 'show', '--bogus'], "error: unknown option '--bogus'"],
    [['create', '--port'], "error: option '--port <port>' argument missing"],
    [['broker', 'listener', 'apply', '--name', 'x'], "error: required option '--config-file <file>' not specified"],
    [['broker', 'show', '-o', 'xml'], "error: option '-o, --output <format>' argument 'xml' is invalid."],
    [['create', '--port', 'abc'], "error: option '--port <port>' argument 'abc' is invalid."],
    [['broker', 'nope'], "error: unknown command 'nope'"],
  ])('%j', async (argv, message) => {
    const r = await run(...argv);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
    expect(r.err.trimEnd().split('\n').at(-1)).toBe('(CLI_USAGE, exit code 2)');
    expect(r.err.match(/error:/g)).toHaveLength(1);
  });

  it('help and version stay exit 0 with no error line', async () => {
    for (const argv of [['--help'], ['--version'], ['broker', 'show', '--help']]) {
      const r = await run(...argv);
      expect(r.code).toBe(0);
      expect(r.err).toBe('');
    }
  });
});
