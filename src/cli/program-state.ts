/** `ops state get|set|delete|watch` flags (statestore-cli's, plus the `ops` instance and output flags). */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { CliContext } from './context.js';
import { runStateDelete, runStateGet, runStateSet, runStateVdel, runStateWatch, type StateInput } from './actions/state.js';
import { intArg } from './lib/flags.js';
import { examples, instanceOf, withInstance, type InstanceOptions } from './option-builders.js';
import { definedOnly } from '../shared/plain-objects.js';
import type { RunResult } from './program.js';

interface StateOptions extends InstanceOptions {
  key: string;
  hostname?: string;
  port?: number;
  output?: string;
  tls?: boolean;
  notls?: boolean;
  cafile?: string;
  certfile?: string;
  keyfile?: string;
  keypasswordfile?: string;
  username?: string;
  password?: string;
  passwordFile?: string;
}

/** commander argParser for a TCP port to connect to (1-65535). */
export function connectPortArg(value: string): number {
  const port = intArg(value);
  if (port < 1 || port > 65535) throw new InvalidArgumentError(`'${value}' is not a port (1-65535).`);
  return port;
}

/** commander argParser for `--px`: a positive number of milliseconds. */
export function positiveMsArg(value: string): number {
  const ms = intArg(value);
  if (ms < 1 || !Number.isSafeInteger(ms)) throw new InvalidArgumentError(`'${value}' is not a positive number of milliseconds.`);
  return ms;
}

/** Adds `-k`, `-n`, `-p`, `--instance`, `-o json|text`, and the TLS and credential flags. */
function withConnection(cmd: Command): Command {
  return withInstance(cmd)
    .requiredOption('-k, --key <key>', 'the key (UTF-8)')
    .option('-n, --hostname <host>', 'broker host', 'localhost')
    .option(
      '-p, --port <port>',
      "broker port (default: the --instance broker's default listener port if it runs (its TLS port with TLS), else 1883 (8883 with TLS))",
      connectPortArg,
    )
    .addOption(new Option('-o, --output <format>', 'output format (text by default)').choices(['json', 'text']))
    .option('--tls', 'connect with TLS (mqtts); implied by -T/--cafile and -C/--certfile')
    .option('--notls', 'plain MQTT, the default (statestore-cli compatibility)')
    .option('-T, --cafile <file>', "trusted CA certificates (PEM) for the broker's certificate (default: the system's); implies --tls")
    .option('-C, --certfile <file>', 'client certificate (PEM) for X.509 authentication; implies --tls')
    .option('-K, --keyfile <file>', 'private key (PEM) of -C/--certfile')
    .option('-P, --keypasswordfile <file>', 'file holding the password of an encrypted -K/--keyfile')
    .option('-u, --username <name>', 'MQTT username')
    .addOption(new Option('--password <password>', 'MQTT password (other local users can see it in the process list: prefer --password-file)').conflicts('passwordFile'))
    .option('--password-file <file>', 'file holding the MQTT password (one trailing newline is ignored)');
}

/** True when the command line names an instance (`-i`, `--instance`, `--in`), not just the default. */
function instanceGiven(argv: readonly string[]): boolean {
  return argv.some((a) => /^(-i|--instance|--in)(=.*)?$/.test(a) || (a.startsWith('-i') && !a.startsWith('--')));
}

function common(o: StateOptions, argv: readonly string[]): StateInput {
  return definedOnly({
    instance: instanceOf(o),
    instanceGiven: instanceGiven(argv),
    key: o.key,
    hostname: o.hostname,
    port: o.port,
    output: o.output,
    tls: o.tls,
    notls: o.notls,
    caFile: o.cafile,
    certFile: o.certfile,
    keyFile: o.keyfile,
    keyPasswordFile: o.keypasswordfile,
    username: o.username,
    password: o.password,
    passwordFile: o.passwordFile,
  });
}

/** Resolves when the process gets SIGINT or SIGTERM (the watch ends with exit 0). */
function signalController(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  return { signal: controller.signal, dispose: () => void (process.off('SIGINT', abort), process.off('SIGTERM', abort)) };
}

/** Adds `ops state ...`. */
export function addStateCommands(program: Command, ctx: CliContext, result: RunResult): void {
  const state = program
    .command('state')
    .description("Read and change the broker's state store (statestore-cli compatible: exit 0 ok, 1 key missing or change not applied).");
  examples(state, [
    'ops state set -k color --value red',
    'ops state get -k color',
    'ops state watch -k color',
    'ops state get -k color --cafile ca.crt -p 8883   # TLS',
    'ops state get -k color -u alice --password-file pw.txt -p 1884',
  ]);

  const get = withConnection(state.command('get'))
    .description('Print the value of a key followed by a newline (raw bytes), or write it to a file; exit 1 when the key does not exist.')
    .option('-f, --valuefile <file>', 'write the raw value to this file (no newline) instead of stdout');
  examples(get, ['ops state get -k color', 'ops state get -k blob -f blob.bin', 'ops state get -k color -o json   # {"key":..,"value":..,"version":..}', 'ops state get -k color -n 10.0.0.5 -p 1883']).action(
    async (o: StateOptions & { valuefile?: string }) => {
      result.exitCode = await runStateGet({ ...common(o, ctx.argv), ...definedOnly({ valueFile: o.valuefile }) }, ctx);
    },
  );

  const set = withConnection(state.command('set'))
    .description('Set a key to --value or to the bytes of a file; exit 1 when --nx/--nex refused the change.')
    .addOption(new Option('--value <value>', 'the value (UTF-8)').conflicts('valuefile'))
    .option('-f, --valuefile <file>', 'take the value from this file, byte for byte')
    .addOption(new Option('--nx', 'only if the key does not exist').conflicts('nex'))
    .option('--nex', 'only if the key does not exist or already holds this value')
    .option('--px <ms>', 'expire the key after this many milliseconds', positiveMsArg)
    .option('--persist', 'ask for disk persistence of the key (aio-persistence: true)')
    .option('--notify', 'register for the key notification first and print it (SET <value>)');
  examples(set, [
    'ops state set -k color --value red',
    'ops state set -k blob -f blob.bin',
    'ops state set -k lock --value me --nex --px 10000   # acquire or renew a lease',
    'ops state set -k color --value blue --notify -o json',
  ]).action(async (o: StateOptions & { value?: string; valuefile?: string; nx?: boolean; nex?: boolean; px?: number; persist?: boolean; notify?: boolean }) => {
    const flags = definedOnly({ value: o.value, valueFile: o.valuefile, nx: o.nx, nex: o.nex, px: o.px, persist: o.persist, notify: o.notify });
    result.exitCode = await runStateSet({ ...common(o, ctx.argv), ...flags }, ctx);
  });

  const del = withConnection(state.command('delete'))
    .description('Delete a key; exit 1 when it did not exist.')
    .option('--notify', 'register for the key notification first and print it (DELETE)');
  examples(del, ['ops state delete -k color', 'ops state delete -k color --notify']).action(async (o: StateOptions & { notify?: boolean }) => {
    result.exitCode = await runStateDelete({ ...common(o, ctx.argv), ...definedOnly({ notify: o.notify }) }, ctx);
  });

  const vdel = withConnection(state.command('vdel'))
    .description('Delete a key only if it holds the given value (VDEL); exit 1 when it does not exist or holds another value.')
    .addOption(new Option('--value <value>', 'the value the key must hold (UTF-8)').conflicts('valuefile'))
    .option('-f, --valuefile <file>', 'take the value from this file, byte for byte')
    .option('--notify', 'register for the key notification first and print it (DELETE)');
  examples(vdel, ['ops state vdel -k lock --value me   # release a lease only if still held by me', 'ops state vdel -k blob -f blob.bin -o json']).action(
    async (o: StateOptions & { value?: string; valuefile?: string; notify?: boolean }) => {
      result.exitCode = await runStateVdel({ ...common(o, ctx.argv), ...definedOnly({ value: o.value, valueFile: o.valuefile, notify: o.notify }) }, ctx);
    },
  );

  const watch = withConnection(state.command('watch'))
    .description('Print the notifications of a key as they arrive (SET <value> / DELETE, one per line) until Ctrl-C or SIGTERM.');
  examples(watch, ['ops state watch -k color', 'ops state watch -k color -o json   # one JSON object per line']).action(async (o: StateOptions) => {
    const { signal, dispose } = signalController();
    try {
      result.exitCode = await runStateWatch({ ...common(o, ctx.argv), signal }, ctx);
    } finally {
      dispose();
    }
  });
}
