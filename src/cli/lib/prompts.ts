/** Prompts, only ever on a terminal: delete confirmation and the `ops create` wizard. */
import { confirm, input, select } from '@inquirer/prompts';
import type { CreateBrokerArgs } from '../../config/create-settings.js';
import { persistenceSizeProblem } from '../../config/quantity.js';
import { OpsError } from '../../shared/errors.js';
import type { CliContext } from '../context.js';

/** What az says when a confirmation cannot be asked (no terminal) and --yes was not given. */
export const NO_TTY_CONFIRMATION = 'Unable to prompt for confirmation as no tty available. Use --yes.';

/**
 * Asks a yes/no question (default no) for an action that needs `--yes` otherwise. Without a
 * terminal (scripts, pipes) nothing can be asked, so it refuses with az's hint to pass `--yes`
 * (`CLI_USAGE`, exit 2) instead of going ahead silently.
 */
export async function confirmOrRefuse(ctx: CliContext, message: string): Promise<boolean> {
  if (!ctx.interactive) throw new OpsError('CLI_USAGE', { message: NO_TTY_CONFIRMATION });
  return confirm({ message, default: false });
}

/** Asks for the main broker settings of a new instance. */
export async function createWizard(): Promise<CreateBrokerArgs & { port: number }> {
  const memoryProfile = await select({
    message: 'Memory profile',
    default: 'Medium',
    choices: ['Tiny', 'Low', 'Medium', 'High'].map((value) => ({ value })),
  });
  const port = Number(await input({ message: 'MQTT port of the default listener', default: '1883', validate: (v) => /^[0-9]+$/.test(v) && Number(v) <= 65535 }));
  const persist = await confirm({ message: 'Enable disk persistence? (cannot be turned off later)', default: false });
  const args: CreateBrokerArgs & { port: number } = { memoryProfile, port };
  if (persist) {
    const validate = (v: string): true | string => persistenceSizeProblem(v.trim()) ?? true;
    args.maxSize = (await input({ message: 'Persistence max size (more than 100 MB)', default: '1Gi', validate })).trim();
  }
  return args;
}
