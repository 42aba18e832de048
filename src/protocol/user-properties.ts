import type { UserProperties } from './packets.js';

/** One User Property: a name and a value, in wire order [MQTT-3.3.2-18]. */
export type UserProperty = readonly [name: string, value: string];

/**
 * Where the decoder leaves the User Properties of a property section as an ordered list.
 * mqtt-packet's own object form groups values by name and loses the interleaving of names.
 */
export const USER_PROPERTY_LIST: unique symbol = Symbol('userPropertyList');

/** A property section as decoded, possibly carrying the ordered list. */
export interface PropertiesWithList {
  userProperties?: UserProperties;
  [USER_PROPERTY_LIST]?: UserProperty[];
}

/**
 * The User Properties of a decoded property section in wire order, or `undefined` when there are
 * none. Falls back to the object form (order within each name kept) for sections that did not
 * come through the decoder.
 */
export function userPropertyList(properties: PropertiesWithList | undefined): UserProperty[] | undefined {
  if (properties === undefined) return undefined;
  const list = properties[USER_PROPERTY_LIST];
  if (list !== undefined) return list;
  const object = properties.userProperties;
  if (object === undefined) return undefined;
  const out: UserProperty[] = [];
  for (const [name, value] of Object.entries(object)) {
    for (const v of Array.isArray(value) ? value : [value]) out.push([name, v]);
  }
  return out.length > 0 ? out : undefined;
}

/** The parser internals the capture wraps. */
interface PropertyParser {
  _parseStringPair(): { name: string | null; value: string | null } | false;
  _parseProperties(): object | false;
}

/**
 * Makes an mqtt-packet parser also record each property section's User Properties, in order,
 * under {@link USER_PROPERTY_LIST} (a non-enumerable symbol: the object form is unchanged).
 */
export function captureUserPropertyOrder(parser: PropertyParser): void {
  const parsePair = parser._parseStringPair;
  const parseProperties = parser._parseProperties;
  let current: UserProperty[] | undefined;
  parser._parseStringPair = function (this: PropertyParser) {
    const pair = parsePair.call(this);
    if (pair !== false && current !== undefined && pair.name !== null && pair.value !== null) current.push([pair.name, pair.value]);
    return pair;
  };
  parser._parseProperties = function (this: PropertyParser) {
    const outer = current;
    current = [];
    try {
      const result = parseProperties.call(this);
      if (result !== false && current.length > 0) Object.defineProperty(result, USER_PROPERTY_LIST, { value: current });
      return result;
    } finally {
      current = outer;
    }
  };
}
