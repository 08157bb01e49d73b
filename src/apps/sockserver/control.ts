/**
 * The control ("assistant") service protocol of the reference test server
 * (iot-socket-api.md §16, SockServer v1.1 `AssistantThread`): command parsing,
 * clamps, the SEND block pattern, the `STAT` reply and the RECV `STOP` marker.
 * Pure helpers; the service itself is in `server.ts`.
 */
import { parseIp } from '../../base/ip-address.ts';

/** `CONNECT TCP|UDP,<ip>,<port>,<delay_ms>`: connect back and send `SockServer`. */
export interface ConnectCommand {
  readonly kind: 'connect';
  readonly protocol: 'tcp' | 'udp';
  /** 4 or 16 bytes; all-zero `0.0.0.0` (or `::`) means the control connection's peer. */
  readonly address: Uint8Array;
  readonly port: number;
  /** Delay before connecting, clamped to 10..5000 ms. */
  readonly delayMs: number;
}

/** `SEND TCP,<bsize>,<time_ms>`: send blocks for a while, then `STAT`. */
export interface SendCommand {
  readonly kind: 'send';
  /** Block size, clamped to 32..1460. */
  readonly blockSize: number;
  /** Duration, clamped to 500..60000 ms. */
  readonly timeMs: number;
}

/** `RECV TCP,<bsize>`: count received bytes up to `STOP`, then `STAT`. */
export interface RecvCommand {
  readonly kind: 'recv';
  /** Read size, clamped to 32..1460. */
  readonly blockSize: number;
}

export type ControlCommand = ConnectCommand | SendCommand | RecvCommand;

/** The 10 bytes sent on a successful `CONNECT`. */
export const GREETING = 'SockServer';
/** Wait before acting on a command (upstream `Sleep(10)`). */
export const COMMAND_DELAY_MS = 10;
/** Wait after the greeting before closing (upstream `Sleep(500)`). */
export const GREETING_LINGER_MS = 500;
/** The command must arrive within this time (upstream `SO_RCVTIMEO` 2000). */
export const COMMAND_TIMEOUT_MS = 2000;
/** Largest command read (upstream buffer). */
export const COMMAND_MAX_BYTES = 1500;

export function clamp(value: number, lo: number, hi: number): number {
  return value < lo ? lo : value > hi ? hi : value;
}

const UINT = /^[0-9]{1,10}$/;

function uint(text: string | undefined): number | undefined {
  if (text === undefined || !UINT.test(text)) return undefined;
  const n = Number(text);
  return n <= 0xffff_ffff ? n : undefined;
}

/**
 * Parses one control command (the content of the first read). A trailing CR, LF,
 * NUL or spaces are tolerated; anything else malformed, or an unknown command,
 * gives `undefined` (the service then closes the connection). The address of
 * `CONNECT` is an IPv4 dotted quad as upstream, or (iotnet extension) an IPv6 literal;
 * its port must be 1..65535.
 */
export function parseControlCommand(input: Uint8Array | string): ControlCommand | undefined {
  const raw = typeof input === 'string' ? input : new TextDecoder('latin1').decode(input);
  const text = raw.replace(/[\r\n\0 ]+$/, '');
  const space = text.indexOf(' ');
  if (space < 0) return undefined;
  const verb = text.slice(0, space);
  const fields = text.slice(space + 1).split(',');
  const proto = fields[0];
  switch (verb) {
    case 'CONNECT': {
      if ((proto !== 'TCP' && proto !== 'UDP') || fields.length !== 4) return undefined;
      const address = parseIp(fields[1] ?? '');
      const port = uint(fields[2]);
      const delay = uint(fields[3]);
      if (address === undefined || port === undefined || port < 1 || port > 65535 || delay === undefined) return undefined;
      return { kind: 'connect', protocol: proto === 'TCP' ? 'tcp' : 'udp', address, port, delayMs: clamp(delay, 10, 5000) };
    }
    case 'SEND': {
      if (proto !== 'TCP' || fields.length !== 3) return undefined;
      const bsize = uint(fields[1]);
      const time = uint(fields[2]);
      if (bsize === undefined || time === undefined) return undefined;
      return { kind: 'send', blockSize: clamp(bsize, 32, 1460), timeMs: clamp(time, 500, 60000) };
    }
    case 'RECV': {
      if (proto !== 'TCP' || fields.length !== 2) return undefined;
      const bsize = uint(fields[1]);
      if (bsize === undefined) return undefined;
      return { kind: 'recv', blockSize: clamp(bsize, 32, 1460) };
    }
    default:
      return undefined;
  }
}

const RECV_HEAD = /^RECV TCP,([0-9]{1,10})(?=[^0-9,])/;

/**
 * The first read of a control connection: the command, and the bytes after it that
 * belong to the stream. Only `RECV` is followed by data, and TCP may deliver the
 * command merged with the first block (a retransmission of the lost command carries
 * whatever was queued behind it), so `RECV TCP,<bsize>` followed by data that cannot
 * continue the command (neither a digit nor a comma) is the command plus the first
 * `rest` bytes of the upload (iotnet extension; upstream would close the connection).
 * Anything else is `parseControlCommand` of the whole read, with no rest.
 */
export function parseControlInput(input: Uint8Array): { readonly command: ControlCommand; readonly rest: Uint8Array } | undefined {
  const whole = parseControlCommand(input);
  if (whole !== undefined) return { command: whole, rest: input.subarray(input.length) };
  const head = new TextDecoder('latin1').decode(input.subarray(0, 32));
  const m = RECV_HEAD.exec(head);
  const command = m !== null ? parseControlCommand(m[0]) : undefined;
  return m !== null && command !== undefined ? { command, rest: input.subarray(m[0].length) } : undefined;
}

/**
 * The SEND blocks: block i (1, 2, …) is ASCII `Block[i] ` then a fill character up to
 * `blockSize` bytes; the fill starts at `a` and advances per block, wrapping `~` → space.
 */
export class SendBlocks {
  readonly #size: number;
  #index = 0;
  #fill = 0x61; // 'a'

  constructor(blockSize: number) {
    this.#size = blockSize;
  }

  /** The next block. */
  next(): Uint8Array {
    const head = new TextEncoder().encode(`Block[${++this.#index}] `);
    const out = new Uint8Array(this.#size);
    out.set(head.subarray(0, this.#size));
    out.fill(this.#fill, Math.min(head.length, this.#size));
    if (++this.#fill > 0x7e) this.#fill = 0x20;
    return out;
  }
}

/** The `STAT <n> bytes.` reply. */
export function statReply(bytes: number): Uint8Array {
  return new TextEncoder().encode(`STAT ${bytes} bytes.`);
}

const STOP = [0x53, 0x54, 0x4f, 0x50]; // "STOP"

/**
 * Counts RECV bytes up to the `STOP` marker, which may start anywhere in a read and
 * may be split across reads (upstream only looks at the start of a read).
 */
export class StopCounter {
  /** Bytes before the marker (so far). */
  count = 0;
  /** True once the marker was seen. */
  stopped = false;
  /** How many leading bytes of "STOP" the data seen so far ends with. */
  #partial = 0;

  /** Feeds one read; returns `stopped`. Data after the marker is ignored. */
  push(chunk: Uint8Array): boolean {
    if (this.stopped) return true;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i] as number;
      if (b === STOP[this.#partial]) {
        this.#partial++;
        if (this.#partial === STOP.length) {
          // The marker's first byte was counted (as data) when it arrived: take it back.
          this.count -= STOP.length - 1;
          this.stopped = true;
          return true;
        }
      } else {
        this.#partial = b === STOP[0] ? 1 : 0;
      }
      this.count++;
    }
    return false;
  }
}
