/**
 * Matching helpers of BrokerAuthorization rules: `{principal.*}` substitution, MQTT topic filter
 * coverage, and glob patterns (Connect client ids, state store `Pattern` keys).
 */
import { topicMatches } from '../shared/topic.js';
import type { ClientIdentity } from '../broker/hooks.js';

const TOKEN = /\{([^{}]*)\}/g;

/**
 * Replaces `{principal.clientId}`, `{principal.username}` and `{principal.attributes.X}` in
 * `template` with the identity's values. Returns undefined, so the rule entry never matches, when a
 * token has no value (a missing attribute, no username, an unknown token) or a value that could
 * widen the rule: an empty value, one holding a topic level separator `/` or an MQTT wildcard `+ #`
 * ({@link SUBSTITUTION_UNSAFE}, in every context: a client id `alice-1/x` must not reach
 * `devices/alice-1/#` nor the keys `keys/alice-1/*`), or one of the context's `forbidden` characters
 * (glob specials in globs).
 */
export function substitute(template: string, identity: ClientIdentity, forbidden: RegExp): string | undefined {
  let failed = false;
  const out = template.replace(TOKEN, (_whole, token: string) => {
    const value = tokenValue(token, identity);
    if (value === undefined || !substitutable(value) || forbidden.test(value)) failed = true;
    return value ?? '';
  });
  return failed ? undefined : out;
}

/**
 * Characters no substituted value may hold, whatever the rule: the topic level separator and the
 * MQTT wildcards (AIO: substituted values must not contain them).
 */
export const SUBSTITUTION_UNSAFE = /[/+#]/;

/** Whether a principal's value may be put into a rule: not empty, no `/`, `+` or `#`. */
export function substitutable(value: string): boolean {
  return value.length > 0 && !SUBSTITUTION_UNSAFE.test(value);
}

function tokenValue(token: string, identity: ClientIdentity): string | undefined {
  if (token === 'principal.clientId') return identity.clientId;
  if (token === 'principal.username') return identity.username;
  const prefix = 'principal.attributes.';
  if (token.startsWith(prefix)) {
    const name = token.slice(prefix.length);
    return Object.hasOwn(identity.attributes, name) ? identity.attributes[name] : undefined;
  }
  return undefined;
}

/** Characters a substituted value may not bring into a topic (MQTT wildcards). */
export const TOPIC_WILDCARDS = /[+#]/;
/** Characters a substituted value may not bring into a glob. */
export const GLOB_SPECIALS = /[*?[\]\\]/;

/** Whether the rule topic (a filter) matches a published topic name. */
export function ruleMatchesTopic(rule: string, topic: string): boolean {
  return topicMatches(rule, topic);
}

/**
 * Whether every topic the subscription `filter` can match is matched by the rule filter `rule`
 * (a subscription is allowed only when a rule covers it). `$share/<group>/` is stripped first.
 */
export function ruleCoversFilter(rule: string, filter: string): boolean {
  const inner = /^\$share\/[^/]+\/(.*)$/.exec(filter)?.[1] ?? filter;
  const r = rule.split('/');
  const f = inner.split('/');
  if ((r[0] === '+' || r[0] === '#') && (f[0] ?? '').startsWith('$')) return false; // [MQTT-4.7.2-1]
  for (let i = 0; i < r.length; i++) {
    const level = r[i] as string;
    if (level === '#') return true;
    if (i >= f.length) return false;
    const sub = f[i] as string;
    if (sub === '#') return false;
    if (level === '+') continue;
    if (sub === '+' || sub !== level) return false;
  }
  if (f.length === r.length) return true;
  return false;
}

/**
 * Compiles a glob (`*` any run, `?` one character, `[abc]`, `[a-z]`, `[!a]`/`[^a]`, `\x` escape)
 * into an anchored regular expression over latin1 strings (one character per byte).
 */
export function compileGlob(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') out += '[\\s\\S]*';
    else if (c === '?') out += '[\\s\\S]';
    else if (c === '\\' && i + 1 < pattern.length) out += escapeRegex(pattern[++i] as string);
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) out += '\\[';
      else {
        let body = pattern.slice(i + 1, end);
        const negate = body.startsWith('!') || body.startsWith('^');
        if (negate) body = body.slice(1);
        out += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, (m) => `\\${m}`)}]`;
        i = end;
      }
    } else out += escapeRegex(c);
  }
  return new RegExp(`^${out}$`);
}

function escapeRegex(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/-]/g, (m) => `\\${m}`);
}

/** A UTF-8 string as latin1 (one character per byte), for byte-wise globs. */
export function bytesOf(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}
