/**
 * TCP options (RFC 9293 §3.2, RFC 7323 window scale and timestamps, RFC 2018 SACK): parse,
 * size, emit, format. Pure; used by `tcp.ts`.
 *
 * Wire layout written by {@link writeTcpOptions} — the one Linux uses (`tcp_options_write`),
 * every option 32-bit aligned by leading NOPs, so the total is always a multiple of 4 and no
 * EOL is ever needed:
 *
 * | option(s)                    | bytes                                 | len |
 * |------------------------------|---------------------------------------|-----|
 * | MSS                          | `02 04 mm mm`                          | 4   |
 * | SACK-permitted + timestamps  | `04 02 08 0a vvvvvvvv eeeeeeee`        | 12  |
 * | timestamps alone             | `01 01 08 0a vvvvvvvv eeeeeeee`        | 12  |
 * | SACK-permitted alone         | `01 01 04 02`                          | 4   |
 * | window scale                 | `01 03 03 ss`                          | 4   |
 * | SACK, n = 1…4 blocks         | `01 01 05 (2+8n) [left right]×n`       | 4+8n|
 *
 * in that order, so a SYN carrying everything reads `<mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>`
 * exactly as Linux's does (20 bytes). With timestamps, at most 3 SACK blocks fit in the
 * 40-byte option space (RFC 2018 §3); with MSS, SACK-permitted, timestamps and window scale,
 * at most 2.
 */
import type { WireFault } from './fault.ts';
import { rd16, rd32, wr16, wr32 } from './bytes.ts';

/** Option kinds (RFC 9293 §3.2, RFC 7323 §2.2 and §3.2, RFC 2018 §2 and §3; IANA "TCP Option Kind Numbers"). */
export const TcpOptionKind = {
  /** End of option list (RFC 9293 §3.2). */
  EOL: 0,
  /** No-operation, used for alignment (RFC 9293 §3.2). */
  NOP: 1,
  /** Maximum segment size, length 4 (RFC 9293 §3.7.1). */
  MSS: 2,
  /** Window scale, length 3 (RFC 7323 §2.2). */
  WINDOW_SCALE: 3,
  /** SACK-permitted, length 2 (RFC 2018 §2). */
  SACK_PERMITTED: 4,
  /** SACK, length 2 + 8n (RFC 2018 §3). */
  SACK: 5,
  /** Timestamps, length 10 (RFC 7323 §3.2). */
  TIMESTAMP: 8,
} as const;

/** The option space: data offset ≤ 15 words, minus the 20-byte fixed header (RFC 9293 §3.1). */
export const TCP_MAX_OPTIONS_LEN = 40;
/** RFC 7323 §2.3: the largest usable shift; a received larger value is used as 14. */
export const TCP_MAX_WINDOW_SCALE = 14;
/** RFC 2018 §3: at most 4 SACK blocks fit in the option space (3 alongside timestamps). */
export const TCP_MAX_SACK_BLOCKS = 4;

/** One SACK block `[left, right)`: left edge and right edge (one past the last byte), uint32 sequence numbers. */
export type SackBlock = readonly [left: number, right: number];

/** RFC 7323 §3.2 timestamps option: TSval and TSecr, uint32 each. */
export interface TcpTimestamp {
  readonly value: number;
  readonly echo: number;
}

/**
 * The options of one segment, each present only when on the wire. Parsing leaves absent options
 * absent (never `undefined`-valued), duplicated options keep the last occurrence, and unknown
 * kinds are skipped (they are not kept). Whether an option is allowed in a given segment (MSS,
 * window scale and SACK-permitted only on SYNs) is the state machine's business, not the codec's.
 */
export interface TcpOptions {
  /** Maximum segment size (uint16), RFC 9293 §3.7.1. */
  readonly mss?: number;
  /** Window scale shift count, 0…14 after parsing (larger received values clamp to 14, RFC 7323 §2.3). */
  readonly windowScale?: number;
  /** SACK-permitted (RFC 2018 §2): parse sets `true` when present; emit writes it only when `true`. */
  readonly sackPermitted?: boolean;
  /** SACK blocks in wire order, 1…4 of them (RFC 2018 §3). Emit writes nothing for an empty array. */
  readonly sack?: readonly SackBlock[];
  /** Timestamps (RFC 7323 §3.2). */
  readonly timestamp?: TcpTimestamp;
}

/**
 * The shared, frozen result for a segment without (known) options — parsing a bare header
 * allocates nothing for options.
 */
export const NO_TCP_OPTIONS: TcpOptions = Object.freeze({});

type MutableOptions = { -readonly [K in keyof TcpOptions]: TcpOptions[K] };

/**
 * Parses the options in `buf[start, end)` (the bytes between the fixed header and the data
 * offset). EOL ends the list; NOP is skipped; unknown kinds are skipped by their length.
 * `'malformed'` for a length byte missing, below 2 or reaching beyond `end`, and for a known
 * kind with the wrong length (MSS 4, window scale 3, SACK-permitted 2, SACK 2+8n with n 1…4,
 * timestamps 10). Allocates the result object only if an option is found (else
 * {@link NO_TCP_OPTIONS}), plus the SACK block arrays when SACK is present.
 */
export function parseTcpOptions(buf: Uint8Array, start: number, end: number): TcpOptions | WireFault {
  let mss = -1;
  let windowScale = -1;
  let sackPermitted = false;
  let sack: SackBlock[] | undefined;
  let tsAt = -1;
  let i = start;
  while (i < end) {
    const kind = buf[i] ?? 0;
    if (kind === TcpOptionKind.EOL) break;
    if (kind === TcpOptionKind.NOP) {
      i++;
      continue;
    }
    // RFC 9293 §3.2: every other option is kind, length (counting both), data.
    if (i + 1 >= end) return 'malformed';
    const len = buf[i + 1] ?? 0;
    if (len < 2 || i + len > end) return 'malformed';
    switch (kind) {
      case TcpOptionKind.MSS:
        if (len !== 4) return 'malformed';
        mss = rd16(buf, i + 2);
        break;
      case TcpOptionKind.WINDOW_SCALE:
        if (len !== 3) return 'malformed';
        // RFC 7323 §2.3: "If a Window Scale option is received with a shift.cnt value larger
        // than 14, the TCP SHOULD log the error but MUST use 14 instead of the specified value."
        windowScale = Math.min(buf[i + 2] ?? 0, TCP_MAX_WINDOW_SCALE);
        break;
      case TcpOptionKind.SACK_PERMITTED:
        if (len !== 2) return 'malformed';
        sackPermitted = true;
        break;
      case TcpOptionKind.SACK: {
        const n = (len - 2) >>> 3;
        if ((len - 2) % 8 !== 0 || n < 1 || n > TCP_MAX_SACK_BLOCKS) return 'malformed';
        sack = [];
        for (let b = 0; b < n; b++) {
          const o = i + 2 + 8 * b;
          sack.push([rd32(buf, o), rd32(buf, o + 4)]);
        }
        break;
      }
      case TcpOptionKind.TIMESTAMP:
        if (len !== 10) return 'malformed';
        tsAt = i + 2;
        break;
      default:
        break; // unknown kind: skipped by its length
    }
    i += len;
  }
  if (mss < 0 && windowScale < 0 && !sackPermitted && sack === undefined && tsAt < 0) return NO_TCP_OPTIONS;
  const o: MutableOptions = {};
  if (mss >= 0) o.mss = mss;
  if (windowScale >= 0) o.windowScale = windowScale;
  if (sackPermitted) o.sackPermitted = true;
  if (sack !== undefined) o.sack = sack;
  if (tsAt >= 0) o.timestamp = { value: rd32(buf, tsAt), echo: rd32(buf, tsAt + 4) };
  return o;
}

/**
 * Bytes {@link writeTcpOptions} writes for `o` (always a multiple of 4). May exceed
 * {@link TCP_MAX_OPTIONS_LEN}: callers building options (e.g. how many SACK blocks to send)
 * check against it; `emitTcp` refuses such options.
 */
export function tcpOptionsLen(o: TcpOptions): number {
  let n = 0;
  if (o.mss !== undefined) n += 4;
  if (o.timestamp !== undefined) n += 12;
  else if (o.sackPermitted === true) n += 4;
  if (o.windowScale !== undefined) n += 4;
  if (o.sack !== undefined && o.sack.length > 0) n += 4 + 8 * o.sack.length;
  return n;
}

/**
 * Writes `o` at `out[off…]` in the layout of the module doc and returns the offset after it
 * (`off + tcpOptionsLen(o)`). No checks: the caller sized `out` and keeps SACK to ≤ 4 blocks.
 * Values are written modulo their field width.
 */
export function writeTcpOptions(o: TcpOptions, out: Uint8Array, off: number): number {
  let p = off;
  if (o.mss !== undefined) {
    out[p] = TcpOptionKind.MSS;
    out[p + 1] = 4;
    wr16(out, p + 2, o.mss);
    p += 4;
  }
  if (o.timestamp !== undefined) {
    if (o.sackPermitted === true) {
      out[p] = TcpOptionKind.SACK_PERMITTED;
      out[p + 1] = 2;
    } else {
      out[p] = TcpOptionKind.NOP;
      out[p + 1] = TcpOptionKind.NOP;
    }
    out[p + 2] = TcpOptionKind.TIMESTAMP;
    out[p + 3] = 10;
    wr32(out, p + 4, o.timestamp.value);
    wr32(out, p + 8, o.timestamp.echo);
    p += 12;
  } else if (o.sackPermitted === true) {
    out[p] = TcpOptionKind.NOP;
    out[p + 1] = TcpOptionKind.NOP;
    out[p + 2] = TcpOptionKind.SACK_PERMITTED;
    out[p + 3] = 2;
    p += 4;
  }
  if (o.windowScale !== undefined) {
    out[p] = TcpOptionKind.NOP;
    out[p + 1] = TcpOptionKind.WINDOW_SCALE;
    out[p + 2] = 3;
    out[p + 3] = o.windowScale & 0xff;
    p += 4;
  }
  if (o.sack !== undefined && o.sack.length > 0) {
    out[p] = TcpOptionKind.NOP;
    out[p + 1] = TcpOptionKind.NOP;
    out[p + 2] = TcpOptionKind.SACK;
    out[p + 3] = 2 + 8 * o.sack.length;
    p += 4;
    for (const [left, right] of o.sack) {
      wr32(out, p, left);
      wr32(out, p + 4, right);
      p += 8;
    }
  }
  return p;
}

/**
 * tcpdump-style text for raw option bytes `buf[start, end)`, comma-separated:
 * `mss 1460`, `sackOK`, `TS val 1 ecr 0`, `nop`, `eol`, `wscale 7` (the received value, before
 * clamping), `sack 2 {1:2}{3:4}`, `unknown-K 0x…`; an option that does not parse ends the list
 * with `[bad opt]` (as tcpdump prints). For diagnostics: allocates strings; never throws.
 */
export function formatTcpOptionBytes(buf: Uint8Array, start = 0, end = buf.length): string {
  const parts: string[] = [];
  let i = start;
  while (i < end) {
    const kind = buf[i] ?? 0;
    if (kind === TcpOptionKind.EOL) {
      parts.push('eol');
      break;
    }
    if (kind === TcpOptionKind.NOP) {
      parts.push('nop');
      i++;
      continue;
    }
    const len = i + 1 < end ? (buf[i + 1] ?? 0) : 0;
    if (len < 2 || i + len > end) {
      parts.push('[bad opt]');
      break;
    }
    const d = i + 2;
    if (kind === TcpOptionKind.MSS && len === 4) parts.push(`mss ${rd16(buf, d)}`);
    else if (kind === TcpOptionKind.WINDOW_SCALE && len === 3) parts.push(`wscale ${buf[d] ?? 0}`);
    else if (kind === TcpOptionKind.SACK_PERMITTED && len === 2) parts.push('sackOK');
    else if (kind === TcpOptionKind.TIMESTAMP && len === 10) parts.push(`TS val ${rd32(buf, d)} ecr ${rd32(buf, d + 4)}`);
    else if (kind === TcpOptionKind.SACK && (len - 2) % 8 === 0 && len >= 10 && len <= 34) {
      let s = `sack ${(len - 2) / 8} `;
      for (let o = d; o < i + len; o += 8) s += `{${rd32(buf, o)}:${rd32(buf, o + 4)}}`;
      parts.push(s);
    } else if (kind === TcpOptionKind.MSS || kind === TcpOptionKind.WINDOW_SCALE || kind === TcpOptionKind.SACK_PERMITTED
      || kind === TcpOptionKind.SACK || kind === TcpOptionKind.TIMESTAMP) {
      parts.push('[bad opt]');
      break;
    } else {
      let hex = '';
      for (let o = d; o < i + len; o++) hex += (buf[o] ?? 0).toString(16).padStart(2, '0');
      parts.push(hex === '' ? `unknown-${kind}` : `unknown-${kind} 0x${hex}`);
    }
    i += len;
  }
  return parts.join(',');
}

/** tcpdump-style text for `o` as {@link writeTcpOptions} lays it out, e.g. `mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7`. */
export function formatTcpOptions(o: TcpOptions): string {
  const scratch = new Uint8Array(tcpOptionsLen(o));
  writeTcpOptions(o, scratch, 0);
  return formatTcpOptionBytes(scratch);
}
