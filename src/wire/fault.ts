/**
 * Faults of the wire layer. Codecs never throw on untrusted bytes: a parse returns
 * either the decoded representation or one of these values (after smoltcp's
 * `wire::Error`, but with a reason). The stack counts and drops faulty packets.
 */
export type WireFault =
  /** Fewer bytes than the header (or a declared length) needs. */
  | 'truncated'
  /** A length field is impossible (below the minimum, beyond the buffer, inconsistent). */
  | 'bad-length'
  /** The checksum does not verify. */
  | 'bad-checksum'
  /** Structurally invalid (bad version, bad option encoding, reserved value set). */
  | 'malformed'
  /** Valid but not supported by this codec (unknown hardware type, IP options we refuse). */
  | 'unsupported';

/** True when `x` is a `WireFault` (a parse result that is not a representation). */
export function isFault(x: unknown): x is WireFault {
  return typeof x === 'string';
}
