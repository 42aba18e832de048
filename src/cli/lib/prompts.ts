/**
 * Prompts, only ever on a terminal: delete confirmation and the `ops create` wizard. The prompt library
 * is loaded on first use: most `ops` runs never prompt, and loading it costs every run start-up time.
 */
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
  const { confirm } = await import('@inquirer/prompts');
  return confirm({ message, default: false });
}

/** What the create wizard asks for. */
export type WizardSettings = CreateBrokerArgs & { securePort: number; port?: number };

/** Asks for the main broker settings of a new instance. */
export async function createWizard(): Promise<WizardSettings> {
  const { confirm, input, select } = await import('@inquirer/prompts');
  const memoryProfile = await select({
    message: 'Memory profile',
    default: 'Medium',
    choices: ['Tiny', 'Low', 'Medium', 'High'].map((value) => ({ value })),
  });
  const validPort = (v: string): boolean => /^[0-9]+$/.test(v) && Number(v) <= 65535;
  const securePort = Number(await input({ message: "Port of listener 'default' (TLS, service account tokens)", default: '18883', validate: validPort }));
  const insecure = await confirm({ message: "Add listener 'default-insecure' (plain MQTT, no authentication)?", default: false });
  const port = insecure ? Number(await input({ message: "Port of listener 'default-insecure'", default: '1883', validate: validPort })) : undefined;
  const persist = await confirm({ message: 'Enable disk persistence? (cannot be turned off later)', default: false });
  const args: WizardSettings = { memoryProfile, securePort, ...(port === undefined ? {} : { port }) };
  if (persist) {
    const validate = (v: string): true | string => persistenceSizeProblem(v.trim()) ?? true;
    args.maxSize = (await input({ message: 'Persistence max size (more than 100 MB)', default: '1Gi', validate })).trim();
  }
  return args;
}
