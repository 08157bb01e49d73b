/**
 * The authentication protocols' packet bodies (the Code/Identifier/Length header is the control
 * packet's, `parseCpPacket`): PAP (RFC 1334 §2.2) and CHAP (RFC 1994 §4). Pure; parsing never
 * throws. Texts (peer ids, names, messages) are bytes on the wire; they are decoded as Latin-1 so
 * any byte round-trips.
 */
import { latin1Bytes, latin1Text } from '../bytes.ts';
import type { WireFault } from '../fault.ts';

/** PAP codes (RFC 1334 §2.2). */
export const PapCode = { AUTHENTICATE_REQUEST: 1, AUTHENTICATE_ACK: 2, AUTHENTICATE_NAK: 3 } as const;

/** CHAP codes (RFC 1994 §4). */
export const ChapCode = { CHALLENGE: 1, RESPONSE: 2, SUCCESS: 3, FAILURE: 4 } as const;

/** PAP Authenticate-Request: Peer-ID and Password, each after a one-byte length. */
export interface PapRequest {
  readonly peerId: Uint8Array;
  readonly password: Uint8Array;
}

export function parsePapRequest(data: Uint8Array): PapRequest | WireFault {
  if (data.length < 1) return 'truncated';
  const idLen = data[0] as number;
  if (1 + idLen + 1 > data.length) return 'truncated';
  const pwLen = data[1 + idLen] as number;
  if (2 + idLen + pwLen > data.length) return 'truncated';
  return { peerId: data.subarray(1, 1 + idLen), password: data.subarray(2 + idLen, 2 + idLen + pwLen) };
}

/** RangeError when a field is longer than 255 bytes (configuration, checked up front by the caller). */
export function buildPapRequest(peerId: Uint8Array, password: Uint8Array): Uint8Array {
  if (peerId.length > 255 || password.length > 255) throw new RangeError('PAP peer id and password: at most 255 bytes each');
  const out = new Uint8Array(2 + peerId.length + password.length);
  out[0] = peerId.length;
  out.set(peerId, 1);
  out[1 + peerId.length] = password.length;
  out.set(password, 2 + peerId.length);
  return out;
}

/** PAP Authenticate-Ack/Nak: a one-byte length and a message. A short body gives what is there. */
export function parsePapMessage(data: Uint8Array): string {
  if (data.length < 1) return '';
  return latin1Text(data.subarray(1, 1 + Math.min(data[0] as number, data.length - 1)));
}

export function buildPapMessage(message: string): Uint8Array {
  const m = latin1Bytes(message).subarray(0, 255);
  const out = new Uint8Array(1 + m.length);
  out[0] = m.length;
  out.set(m, 1);
  return out;
}

/** CHAP Challenge or Response: Value-Size, Value, then the Name filling the rest. */
export interface ChapValue {
  readonly value: Uint8Array;
  readonly name: Uint8Array;
}

export function parseChapValue(data: Uint8Array): ChapValue | WireFault {
  if (data.length < 1) return 'truncated';
  const size = data[0] as number;
  if (size === 0) return 'malformed';
  if (1 + size > data.length) return 'truncated';
  return { value: data.subarray(1, 1 + size), name: data.subarray(1 + size) };
}

export function buildChapValue(value: Uint8Array, name: Uint8Array): Uint8Array {
  if (value.length < 1 || value.length > 255) throw new RangeError('CHAP value: 1 to 255 bytes');
  const out = new Uint8Array(1 + value.length + name.length);
  out[0] = value.length;
  out.set(value, 1);
  out.set(name, 1 + value.length);
  return out;
}
