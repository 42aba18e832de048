/**
 * What an answer of the custom authentication server means (AIO custom authentication API 0.5.0):
 * - 200 `{ "attributes": {..strings..}, "expiry"?: RFC 3339 }`: the client passes;
 * - 403 `{ "reason": CONNACK reason code, "message"?: text for the broker's log }`: the client fails;
 * - anything else (400, 401, 404, 405, 422 `{ supportedVersions }`, 5xx, a body that is not the
 *   documented JSON): the server made no decision, which AIO treats like an unreachable server.
 */
import { ReasonCode } from '../../protocol/reason-codes.js';
import { isRecord } from '../../shared/plain-objects.js';

/** The meaning of one answer. */
export type CustomAnswer =
  | { readonly kind: 'pass'; readonly attributes: Readonly<Record<string, string>>; readonly expiresAt: Date | undefined }
  | { readonly kind: 'fail'; readonly reasonCode: number; readonly message: string | undefined; readonly problem: string | undefined }
  | { readonly kind: 'noDecision'; readonly problem: string };

/** MQTT 5.0 CONNACK failure reason codes (section 3.2.2.2). */
const CONNACK_FAILURES: ReadonlySet<number> = new Set([
  ReasonCode.UnspecifiedError, ReasonCode.MalformedPacket, ReasonCode.ProtocolError, ReasonCode.ImplementationSpecificError,
  ReasonCode.UnsupportedProtocolVersion, ReasonCode.ClientIdentifierNotValid, ReasonCode.BadUserNameOrPassword, ReasonCode.NotAuthorized,
  ReasonCode.ServerUnavailable, ReasonCode.ServerBusy, ReasonCode.Banned, ReasonCode.BadAuthenticationMethod, ReasonCode.TopicNameInvalid,
  ReasonCode.PacketTooLarge, ReasonCode.QuotaExceeded, ReasonCode.PayloadFormatInvalid, ReasonCode.RetainNotSupported, ReasonCode.QoSNotSupported,
  ReasonCode.UseAnotherServer, ReasonCode.ServerMoved, ReasonCode.ConnectionRateExceeded,
]);

/** MQTT 3.1.1 CONNACK return codes 1-5 (some servers answer those) as their 5.0 equivalents. */
const FROM_V3: Readonly<Record<number, number>> = {
  1: ReasonCode.UnsupportedProtocolVersion,
  2: ReasonCode.ClientIdentifierNotValid,
  3: ReasonCode.ServerUnavailable,
  4: ReasonCode.BadUserNameOrPassword,
  5: ReasonCode.NotAuthorized,
};

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function parseJson(body: Buffer): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(body.toString('utf8')) as unknown };
  } catch {
    return undefined;
  }
}

/** Printable, bounded text from the server (logged; never sent to the client). */
export function sanitise(text: string, max = 200): string {
  const clean = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}

/** Interprets a status code and body. */
export function interpretAnswer(status: number, body: Buffer): CustomAnswer {
  if (status === 200) return interpretPass(body);
  if (status === 403) return interpretFail(body);
  if (status === 422) {
    const parsed = parseJson(body)?.value;
    const versions = isRecord(parsed) && Array.isArray(parsed['supportedVersions']) ? parsed['supportedVersions'].filter((v) => typeof v === 'string') : [];
    return { kind: 'noDecision', problem: `the server does not support API version 0.5.0 (it supports: ${versions.join(', ') || 'unknown'})` };
  }
  const text = body.length > 0 ? `: ${sanitise(body.toString('utf8'))}` : '';
  return { kind: 'noDecision', problem: `the server answered HTTP ${status}${text}` };
}

function interpretPass(body: Buffer): CustomAnswer {
  const parsed = parseJson(body);
  if (parsed === undefined) return { kind: 'noDecision', problem: 'the server answered 200 with a body that is not JSON' };
  const value = parsed.value;
  if (!isRecord(value)) return { kind: 'noDecision', problem: 'the server answered 200 with JSON that is not an object' };
  const attributes: Record<string, string> = {};
  const raw = value['attributes'];
  if (raw !== undefined && raw !== null) {
    if (!isRecord(raw)) return { kind: 'noDecision', problem: 'the server answered 200 with "attributes" that is not an object' };
    for (const [name, v] of Object.entries(raw)) {
      if (typeof v !== 'string') return { kind: 'noDecision', problem: `the server answered 200 with attribute "${sanitise(name, 60)}" that is not a string` };
      attributes[name] = v;
    }
  }
  let expiresAt: Date | undefined;
  const expiry = value['expiry'];
  if (expiry !== undefined && expiry !== null) {
    const ms = typeof expiry === 'string' && RFC3339.test(expiry) ? Date.parse(expiry) : Number.NaN;
    if (Number.isNaN(ms)) return { kind: 'noDecision', problem: 'the server answered 200 with an "expiry" that is not an RFC 3339 time' };
    expiresAt = new Date(ms);
  }
  return { kind: 'pass', attributes, expiresAt };
}

function interpretFail(body: Buffer): CustomAnswer {
  const value = parseJson(body)?.value;
  // A 403 is a decision even when its body is unusable: the client is refused with 0x87.
  if (!isRecord(value)) return { kind: 'fail', reasonCode: ReasonCode.NotAuthorized, message: undefined, problem: 'the 403 body is not a JSON object' };
  const message = typeof value['message'] === 'string' ? sanitise(value['message']) : undefined;
  const reason = value['reason'];
  if (typeof reason === 'number' && CONNACK_FAILURES.has(reason)) return { kind: 'fail', reasonCode: reason, message, problem: undefined };
  if (typeof reason === 'number' && FROM_V3[reason] !== undefined) return { kind: 'fail', reasonCode: FROM_V3[reason], message, problem: undefined };
  const problem = reason === undefined ? 'the 403 body has no "reason"' : `the 403 "reason" ${sanitise(JSON.stringify(reason), 40)} is not a CONNACK failure code`;
  return { kind: 'fail', reasonCode: ReasonCode.NotAuthorized, message, problem };
}
