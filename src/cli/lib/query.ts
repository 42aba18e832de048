/** `--query`: JMESPath over a command's JSON result, as azure-cli applies it before formatting. */
import { compile, TreeInterpreter, type JSONValue } from '@jmespath-community/jmespath';
import { OpsError, reasonOf } from '../../shared/errors.js';

/** A compiled JMESPath expression with its source text. */
export interface CompiledQuery {
  readonly text: string;
  readonly ast: ReturnType<typeof compile>;
}

/** Compiles `text`; a bad expression is a usage error naming it (before the command does anything). */
export function compileQuery(text: string): CompiledQuery {
  try {
    return { text, ast: compile(text) };
  } catch (err) {
    const reason = reasonOf(err);
    throw new OpsError('CLI_USAGE', { message: `argument --query: invalid JMESPath expression '${text}': ${reason}` });
  }
}

/** The query's result over the JSON form of `value` (what `-o json` would print). */
export function applyQuery(query: CompiledQuery, value: unknown): unknown {
  const json = (value === undefined ? null : JSON.parse(JSON.stringify(value))) as JSONValue;
  try {
    return TreeInterpreter.search(query.ast, json);
  } catch (err) {
    // Runtime errors (a function given the wrong type) are the expression's fault, as in azure-cli.
    const reason = reasonOf(err);
    throw new OpsError('CLI_USAGE', { message: `argument --query: '${query.text}' cannot be applied to the result: ${reason}` });
  }
}
