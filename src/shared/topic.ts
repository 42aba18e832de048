/**
 * Topic names and topic filters: validation and matching, shared by the engine, the
 * persistence policy and the CLI. MQTT 5.0 section 4.7.
 */

/** Longest topic or filter in bytes on the wire [MQTT-4.7.3-3]. */
export const MAX_TOPIC_BYTES = 65_535;

/** Why a topic name or filter is invalid, or `undefined` when it is valid. */
export type TopicProblem = string | undefined;

/** Levels of a topic name or filter (`a/b` has 2, `/` has 2). */
export function topicLevelCount(topic: string): number {
  let levels = 1;
  for (let at = topic.indexOf('/'); at >= 0; at = topic.indexOf('/', at + 1)) levels++;
  return levels;
}

/**
 * Checks a topic name used in PUBLISH: non-empty, no wildcards, no NUL [MQTT-4.7.3-1] [MQTT-4.7.0-1] [MQTT-4.7.3-2],
 * and at most `maxLevels` levels (a broker limit).
 */
export function checkTopicName(topic: string, maxLevels = Number.POSITIVE_INFINITY): TopicProblem {
  if (topic.length === 0) return 'topic name is empty'; // [MQTT-4.7.3-1]
  if (Buffer.byteLength(topic) > MAX_TOPIC_BYTES) return 'topic name is longer than 65535 bytes';
  if (topicLevelCount(topic) > maxLevels) return `topic name has more than ${maxLevels} levels`;
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === 0x2b || c === 0x23) return 'topic name contains a wildcard (+ or #)'; // [MQTT-3.3.2-2]
    if (c === 0) return 'topic name contains U+0000'; // [MQTT-4.7.3-2]
  }
  return undefined;
}

/**
 * Checks a topic filter: `#` only last and alone in its level, `+` alone in its level [MQTT-4.7.1-1] [MQTT-4.7.1-2],
 * and at most `maxLevels` levels (a broker limit).
 */
export function checkTopicFilter(filter: string, maxLevels = Number.POSITIVE_INFINITY): TopicProblem {
  if (filter.length === 0) return 'topic filter is empty'; // [MQTT-4.7.3-1]
  if (Buffer.byteLength(filter) > MAX_TOPIC_BYTES) return 'topic filter is longer than 65535 bytes';
  if (topicLevelCount(filter) > maxLevels) return `topic filter has more than ${maxLevels} levels`;
  if (filter.includes('\u0000')) return 'topic filter contains U+0000'; // [MQTT-4.7.3-2]
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] as string;
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) {
      return "'#' must be the last level and alone in it"; // [MQTT-4.7.1-1]
    }
    if (level.includes('+') && level !== '+') return "'+' must occupy a whole level"; // [MQTT-4.7.1-2]
  }
  return undefined;
}

/** A parsed `$share/{group}/{filter}` subscription. */
export interface SharedFilter {
  readonly group: string;
  readonly filter: string;
}

/**
 * Parses a shared subscription filter. Returns `undefined` for a non-shared filter, or a
 * string problem when it starts with `$share/` but is malformed [MQTT-4.8.2-1] [MQTT-4.8.2-2].
 */
export function parseSharedFilter(filter: string, maxLevels = Number.POSITIVE_INFINITY): SharedFilter | string | undefined {
  if (!filter.startsWith('$share/')) return undefined;
  const rest = filter.slice('$share/'.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return 'shared subscription needs $share/{ShareName}/{filter}'; // [MQTT-4.8.2-1]
  const group = rest.slice(0, slash);
  if (group.includes('+') || group.includes('#')) return 'ShareName must not contain + or #'; // [MQTT-4.8.2-2]
  const inner = rest.slice(slash + 1);
  const problem = checkTopicFilter(inner, maxLevels);
  if (problem !== undefined) return problem;
  return { group, filter: inner };
}

/**
 * Whether a topic name matches a filter. Filters starting with a wildcard do not match
 * topics starting with `$` [MQTT-4.7.2-1].
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false; // [MQTT-4.7.2-1]
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return true; // [MQTT-4.7.1-2] '#' also matches the parent level
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}
