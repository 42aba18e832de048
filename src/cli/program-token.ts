/** `ops broker token create` flags. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { runTokenCreate } from './actions/broker/token.js';
import type { OutputFormat } from './lib/output.js';
import { examples, instanceOf, withInstance, withOutput, type InstanceOptions } from './option-builders.js';
import { definedOnly } from '../shared/plain-objects.js';

interface TokenOptions extends InstanceOptions {
  audience: string[];
  ttl: string;
  attribute?: string[];
  subject?: string;
  clientId?: string;
  output?: OutputFormat;
}

/** Adds `token create` under `ops broker`. */
export function addTokenCommands(broker: Command, ctx: CliContext): void {
  const token = broker.command('token').description('Service account tokens for the ServiceAccountToken authentication method (K8S-SAT).');
  const create = withOutput(withInstance(token.command('create')), 'text')
    .description("Mint a token signed by the instance's key (made on first use; works with the broker stopped). Prints the token.")
    .requiredOption('--audience <audiences...>', 'audience(s) of the token: one must be in the method\'s audiences')
    .option('--ttl <duration>', 'lifetime: 90s, 15m, 1h, 7d, 1h30m (max 365d)', '1h')
    .option('--attribute <pairs...>', 'authorization attributes key=value (claims aio-broker-auth/key); repeatable')
    .option('--subject <name>', 'sub claim: the identity the token pins, the username authorization sees (default: a generated token-<random>, printed); not a password-file user')
    .option('--client-id <id>', 'bind the token to this MQTT client id');
  examples(create, [
    'ops broker token create --audience my-audience',
    'ops broker token create --audience aio-internal --ttl 15m --attribute group=sensors floor=2 --subject sensor-1 -o json',
  ]).action(async (o: TokenOptions) =>
    runTokenCreate(
      { instance: instanceOf(o), audiences: o.audience, ...definedOnly({ ttl: o.ttl, attributes: o.attribute, subject: o.subject, clientId: o.clientId, output: o.output }) },
      ctx,
    ),
  );
}
