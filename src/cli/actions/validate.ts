/** `ops validate`: schema-check a config file and report every problem, creating nothing. */
import { loadConfigFile } from '../../config/read-file.js';
import { isSubResourceKind } from '../../config/resources.js';
import { OpsError } from '../../shared/errors.js';
import type { CliContext } from '../context.js';

/** Inputs of `ops validate`. */
export interface ValidateInput {
  readonly brokerConfigFile?: string;
  readonly configFile?: string;
  readonly kind?: string;
}

/** Runs `ops validate`. */
export async function runValidate(input: ValidateInput, ctx: CliContext): Promise<void> {
  if (input.brokerConfigFile !== undefined) {
    await loadConfigFile('broker', input.brokerConfigFile);
    ctx.stdout.write(`${ctx.chalk.green('✔')} ${input.brokerConfigFile} is a valid Broker config.\n`);
    return;
  }
  if (input.configFile === undefined) throw new OpsError('CLI_USAGE', { message: 'Give --broker-config-file FILE, or --config-file FILE --kind KIND.' });
  const kind = input.kind ?? 'listener';
  if (!isSubResourceKind(kind)) throw new OpsError('CLI_USAGE', { message: `--kind must be listener, authentication or authorization (got '${kind}').` });
  await loadConfigFile(kind, input.configFile);
  ctx.stdout.write(`${ctx.chalk.green('✔')} ${input.configFile} is a valid ${kind} config.\n`);
}
