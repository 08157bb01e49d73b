/**
 * Quectel counted-payload headers (reference `at-modules.md` §3): complete lines after which,
 * past one CR LF, a counted payload follows.
 *
 * | header                                  | when                                         |
 * |-----------------------------------------|----------------------------------------------|
 * | `+QIRD: <n>`                            | reply to `AT+QIRD=<id>[,<len>]`; n may be 0  |
 * | `+QIRD: <n>,"<ip>",<port>`              | the same on a UDP SERVICE socket             |
 * | `+QIURC: "recv",<id>,<len>`             | push mode                                    |
 * | `+QIURC: "recv",<id>,<len>,"<ip>",<port>` | push mode, UDP SERVICE                     |
 *
 * Not headers: `+QIRD: <total>,<read>,<unread>` (reply to `AT+QIRD=<id>,0`) and, in buffer mode,
 * `+QIURC: "recv",<id>` (BG95 adds `,<len>` there too, so the recv URC counts only in push mode).
 */
import type { FullLineRecogniser } from './at-tokenizer.ts';

/** A parsed counted header: the byte count, the socket id (URC only), the sender (UDP SERVICE). */
export interface QuectelDataHeader {
  readonly length: number;
  readonly id?: number;
  readonly ip?: string;
  readonly port?: number;
}

const QIRD_RE = /^\+QIRD: (\d{1,9})(?:,"([^"]{1,64})",(\d{1,5}))?$/;
const RECV_RE = /^\+QIURC: "recv",(\d{1,2}),(\d{1,9})(?:,"([^"]{1,64})",(\d{1,5}))?$/;

/** Parses `+QIRD: <n>[,"ip",port]`, or undefined. */
export function parseQirdHeader(line: string): QuectelDataHeader | undefined {
  const m = QIRD_RE.exec(line);
  if (m === null) return undefined;
  const [, n, ip, port] = m;
  return { length: Number(n), ...(ip !== undefined && port !== undefined ? { ip, port: Number(port) } : {}) };
}

/** Parses a push-mode `+QIURC: "recv",<id>,<len>[,"ip",port]`, or undefined. */
export function parseRecvUrcHeader(line: string): QuectelDataHeader | undefined {
  const m = RECV_RE.exec(line);
  if (m === null) return undefined;
  const [, id, n, ip, port] = m;
  return {
    id: Number(id),
    length: Number(n),
    ...(ip !== undefined && port !== undefined ? { ip, port: Number(port) } : {}),
  };
}

/** Options of the Quectel recognisers. */
export interface QuectelHeaderOptions {
  /** Largest payload trusted (`AT+QIRD` reads at most 1500); more is refused. Default 8192. */
  readonly maxLength?: number;
}

/** The `+QIRD: <n>` recogniser. */
export function quectelQirdRecogniser(options: QuectelHeaderOptions = {}): FullLineRecogniser {
  return countedLine('+QIRD: ', parseQirdHeader, options);
}

/** The push-mode `+QIURC: "recv",<id>,<len>` recogniser; register it only while sockets use push mode. */
export function quectelPushRecvRecogniser(options: QuectelHeaderOptions = {}): FullLineRecogniser {
  return countedLine('+QIURC: "recv",', parseRecvUrcHeader, options);
}

function countedLine(
  prefix: string,
  parse: (line: string) => QuectelDataHeader | undefined,
  options: QuectelHeaderOptions,
): FullLineRecogniser {
  const max = options.maxLength ?? 8192;
  return {
    prefix,
    match(line) {
      const h = parse(line);
      return h !== undefined && h.length <= max ? h.length : undefined;
    },
  };
}
