/**
 * ESP-AT counted-payload headers (reference `at-modules.md` §1.3, §1.5): parsers and the
 * tokenizer recognisers built on them. Both dialects: ESP-AT and NONOS.
 *
 * | form                                  | example                               |
 * |---------------------------------------|---------------------------------------|
 * | active, MUX=0                         | `+IPD,5:`                             |
 * | active, MUX=1                         | `+IPD,0,5:`                           |
 * | active + CIPDINFO (ESP-AT, quoted ip) | `+IPD,0,5,"192.168.1.3",5285:`         |
 * | active + CIPDINFO (NONOS, bare ip)    | `+IPD,0,5,192.168.1.3,5285:`           |
 * | passive read, ESP-AT                  | `+CIPRECVDATA:5,` / `+CIPRECVDATA:5,"1.2.3.4",80,` |
 * | passive read, NONOS                   | `+CIPRECVDATA,5:`                     |
 *
 * A bare (unquoted) ip is IPv4 only, so a `:` inside a quoted IPv6 address never ends a header
 * early. The passive notice `+IPD,0,5` (ended by CR LF, no `:`) is not a counted header.
 */
import type { PartialLineRecogniser } from './at-tokenizer.ts';

/** A parsed `+IPD` header. `id` is absent in MUX=0 form, `ip`/`port` without CIPDINFO. */
export interface IpdHeader {
  readonly id?: number;
  readonly length: number;
  readonly ip?: string;
  readonly port?: number;
}

/** A parsed `+CIPRECVDATA` header. */
export interface RecvDataHeader {
  readonly length: number;
  readonly ip?: string;
  readonly port?: number;
}

const NUM = '(\\d{1,9})';
const IP = '(?:"([^"]{1,64})"|([0-9.]{7,15}))';
const IPD_RE = new RegExp(`^\\+IPD,(?:${NUM},)?${NUM}(?:,${IP},${NUM})?:$`);
const RECV_ESP_RE = new RegExp(`^\\+CIPRECVDATA:${NUM},(?:${IP},${NUM},)?$`);
const RECV_NONOS_RE = new RegExp(`^\\+CIPRECVDATA,${NUM}:$`);

/** Parses a complete `+IPD` header (the text up to and including `:`), or undefined. */
export function parseIpdHeader(text: string): IpdHeader | undefined {
  const m = IPD_RE.exec(text);
  if (m === null) return undefined;
  const [, id, len, qip, bip, port] = m;
  const ip = qip ?? bip;
  return {
    ...(id !== undefined ? { id: Number(id) } : {}),
    length: Number(len),
    ...(ip !== undefined && port !== undefined ? { ip, port: Number(port) } : {}),
  };
}

/** Parses a complete `+CIPRECVDATA` header of either dialect, or undefined. */
export function parseRecvDataHeader(text: string): RecvDataHeader | undefined {
  const nonos = RECV_NONOS_RE.exec(text);
  if (nonos !== null) return { length: Number(nonos[1]) };
  const m = RECV_ESP_RE.exec(text);
  if (m === null) return undefined;
  const [, len, qip, bip, port] = m;
  const ip = qip ?? bip;
  return { length: Number(len), ...(ip !== undefined && port !== undefined ? { ip, port: Number(port) } : {}) };
}

/** Options of the ESP recognisers. */
export interface EspHeaderOptions {
  /** Largest payload trusted (ESP `+IPD` is at most 2920 bytes); more is refused. Default 8192. */
  readonly maxLength?: number;
  /**
   * CIPDINFO is on: `+CIPRECVDATA:<len>,` is then not complete until `"ip",port,` follows.
   * (`+IPD` needs no hint: its header ends at `:`.) Default false.
   */
  readonly dinfo?: boolean;
}

/** The `+IPD,…:` recogniser (active receive, every form). */
export function espIpdRecogniser(options: EspHeaderOptions = {}): PartialLineRecogniser {
  const max = options.maxLength ?? 8192;
  return {
    prefix: '+IPD,',
    match(line) {
      if (!line.endsWith(':')) return undefined;
      const h = parseIpdHeader(line);
      return h !== undefined && h.length <= max ? h.length : undefined;
    },
  };
}

/** The `+CIPRECVDATA` recogniser (passive read; both dialects, with or without CIPDINFO). */
export function espRecvDataRecogniser(options: EspHeaderOptions = {}): PartialLineRecogniser {
  const max = options.maxLength ?? 8192;
  const dinfo = options.dinfo ?? false;
  return {
    prefix: '+CIPRECVDATA',
    match(line) {
      const last = line.charCodeAt(line.length - 1);
      if (last !== 0x3a && last !== 0x2c) return undefined; // ':' or ','
      const h = parseRecvDataHeader(line);
      if (h === undefined || h.length > max) return undefined;
      if (last === 0x2c && dinfo !== (h.ip !== undefined)) return undefined;
      return h.length;
    },
  };
}

/** Both ESP recognisers with the same options. */
export function espRecognisers(options: EspHeaderOptions = {}): PartialLineRecogniser[] {
  return [espIpdRecogniser(options), espRecvDataRecogniser(options)];
}
