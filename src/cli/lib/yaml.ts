/** A small YAML emitter for `-o yaml` (JSON-compatible values only). */

function scalar(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const s = String(value);
  const plain = /^[A-Za-z_/.][\w ./:*+#@$-]*$/.test(s) && !/^(true|false|null|yes|no|on|off|~)$/i.test(s) && !s.endsWith(' ') && !s.includes(': ') && !s.includes(' #');
  return plain ? s : JSON.stringify(s);
}

function emit(value: unknown, indent: string): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return ' []';
    return value
      .map((item) => {
        const body = emit(item, `${indent}  `);
        return `\n${indent}-${body.startsWith('\n') ? body.replace(/^\n\s*/, ' ') : body}`;
      })
      .join('');
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return ' {}';
    return entries.map(([k, v]) => `\n${indent}${scalar(k)}:${emit(v, `${indent}  `)}`).join('');
  }
  return ` ${scalar(value)}`;
}

/** Renders `value` as a YAML document. */
export function toYaml(value: unknown): string {
  const body = emit(value, '');
  return `${body.startsWith('\n') ? body.slice(1) : body.trimStart()}\n`;
}
