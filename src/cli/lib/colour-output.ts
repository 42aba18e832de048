/** `-o jsonc` / `-o yamlc`: JSON and YAML with coloured keys and scalars (plain when chalk has no colour). */
import type { ChalkInstance } from 'chalk';
import { toYaml } from './yaml.js';

function colourScalar(chalk: ChalkInstance, value: unknown): string {
  const text = JSON.stringify(value) ?? 'null';
  if (typeof value === 'string') return chalk.green(text);
  if (typeof value === 'number') return chalk.yellow(text);
  if (typeof value === 'boolean' || value === null) return chalk.magenta(text);
  return text;
}

function colourJsonAt(chalk: ChalkInstance, value: unknown, indent: string): string {
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => `${inner}${colourJsonAt(chalk, v, inner)}`).join(',\n')}\n${indent}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    const lines = entries.map(([k, v]) => `${inner}${chalk.blue(JSON.stringify(k))}: ${colourJsonAt(chalk, v, inner)}`);
    return `{\n${lines.join(',\n')}\n${indent}}`;
  }
  return colourScalar(chalk, value);
}

/** `value` as 2-space indented JSON (the same text as `-o json` when there is no colour), newline-terminated. */
export function toColouredJson(chalk: ChalkInstance, value: unknown): string {
  return `${colourJsonAt(chalk, value === undefined ? null : value, '')}\n`;
}

/** `value` as YAML with coloured keys (the same text as `-o yaml` when there is no colour). */
export function toColouredYaml(chalk: ChalkInstance, value: unknown): string {
  return toYaml(value)
    .split('\n')
    .map((line) => line.replace(/^(\s*(?:- )*)([^\s'"#:-][^:]*|"[^"]*"|'[^']*'):(?=\s|$)/, (_m, lead: string, key: string) => `${lead}${chalk.blue(key)}:`))
    .join('\n');
}
