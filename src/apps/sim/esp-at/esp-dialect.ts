/**
 * The two ESP-AT dialects the simulator plays (reference `at-modules.md` §1.1 table, §5 item 1):
 * ESP-AT v2+ (ESP32 family) and NONOS-AT 1.7 (ESP8266). One `EspDialect` object holds every
 * byte-level difference, so the command code asks it instead of testing the dialect name.
 */

/** Which firmware family. */
export type EspDialectName = 'esp-at' | 'nonos';

/** Every byte-level difference between the dialects. */
export interface EspDialect {
  readonly name: EspDialectName;
  /** `AT+GMR` lines before `OK`. */
  readonly gmr: readonly string[];
  /** The version as numbers (from the `AT version:` line). */
  readonly version: readonly [number, number, number, number];
  /** Echo: ESP-AT echoes the typed bytes (`AT\r\n`), NONOS the text and `\r\r\n`. */
  readonly echoStyle: 'typed' | 'text-cr-crlf';
  /** Configuration commands take `_CUR`/`_DEF` (NONOS) instead of plain names (ESP-AT). */
  readonly curDef: boolean;
  /** The final after `+CWJAP:<code>`: `ERROR` (ESP-AT) or `FAIL` (NONOS). */
  readonly cwjapFailFinal: string;
  /** The `AT+CIPSEND` prompt, after the command: `\r\nOK\r\n\r\n>` or `OK\r\n> `. */
  readonly sendPrompt: string;
  /** Largest `AT+CIPSEND` length (8192 / 2048). */
  readonly sendMax: number;
  /** IPs in `+IPD` (CIPDINFO) and `+CIPDOMAIN` are quoted (ESP-AT) or bare (NONOS). */
  readonly quoteIp: boolean;
  /** `AT+CIPRECVDATA` reply header: `+CIPRECVDATA:<len>,` (ESP-AT) or `+CIPRECVDATA,<len>:` (NONOS). */
  recvDataHeader(len: number, dinfo: { ip: string; port: number } | undefined): string;
  /** Passive receive is TCP only (NONOS). */
  readonly passiveTcpOnly: boolean;
  /** `AT+CIPRECVTYPE` replaces `AT+CIPRECVMODE` (ESP-AT ≥ 3.3). */
  readonly recvType: boolean;
  /** `AT+CIPCLOSE` of a free id: `UNLINK` before `ERROR` (NONOS). */
  readonly unlink: boolean;
  /** `DNS Fail` before `ERROR` on a failed lookup (NONOS). */
  readonly dnsFail: boolean;
  /** Commands only ESP-AT has: `AT+CMD?`, `AT+SYSLOG`, `AT+SYSSTORE`, `AT+SYSMSG`, `AT+CWSTATE`, `AT+CIPSTATE`, `AT+CIPSTARTEX`, `AT+CIPDOMAIN` family argument. */
  readonly espAtOnly: boolean;
  /** `AT+CWLAP` entries have 11 fields (7 on NONOS before 1.6). */
  readonly cwlapFields: 7 | 11;
  /** A NONOS reset prints the ESP8266 ROM log at 74880 baud: garbage at 115200. */
  readonly bootGarbage: boolean;
}

/** The default ESP-AT `AT+GMR` version line (reference §1.1). */
export const ESP_AT_VERSION = 'AT version:2.2.0.0-dev(ca41ec4 - ESP32 - Sep 16 2020 11:28:17)';
/** The default NONOS `AT+GMR` version line (reference §1.1). */
export const NONOS_VERSION = 'AT version:1.7.0.0(Aug 16 2018 00:57:04)';

/** The numbers of an `AT version:a.b.c.d…` line (zeros when it does not parse). */
export function parseEspVersion(line: string): [number, number, number, number] {
  const m = /AT version:(\d+)\.(\d+)\.(\d+)\.(\d+)/.exec(line);
  return m === null ? [0, 0, 0, 0] : [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
}

/** `a` ≥ `b`, comparing version numbers. */
export function versionAtLeast(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

/** The dialect table for `name`, with an optional `AT version:` line overriding the default. */
export function espDialect(name: EspDialectName, versionLine?: string): EspDialect {
  if (name === 'esp-at') {
    const line = versionLine ?? ESP_AT_VERSION;
    const version = parseEspVersion(line);
    return {
      name,
      gmr: [line, 'SDK version:v4.0.1-193-ge7ac221b4', 'compile time(98b95fc):Oct 29 2020 11:23:25', 'Bin version:2.1.0(WROOM-32)'],
      version,
      echoStyle: 'typed',
      curDef: false,
      cwjapFailFinal: 'ERROR',
      sendPrompt: '\r\nOK\r\n\r\n>',
      sendMax: 8192,
      quoteIp: true,
      recvDataHeader: (len, dinfo) =>
        dinfo === undefined ? `+CIPRECVDATA:${len},` : `+CIPRECVDATA:${len},"${dinfo.ip}",${dinfo.port},`,
      passiveTcpOnly: false,
      recvType: versionAtLeast(version, [3, 3, 0, 0]),
      unlink: false,
      dnsFail: false,
      espAtOnly: true,
      cwlapFields: 11,
      bootGarbage: false,
    };
  }
  const line = versionLine ?? NONOS_VERSION;
  const version = parseEspVersion(line);
  return {
    name,
    gmr: [line, 'SDK version:3.0.0(d49923c)', 'compile time:Aug 23 2018 16:58:12', 'Bin version(Wroom 02):1.7.0'],
    version,
    echoStyle: 'text-cr-crlf',
    curDef: true,
    cwjapFailFinal: 'FAIL',
    sendPrompt: 'OK\r\n> ',
    sendMax: 2048,
    quoteIp: false,
    recvDataHeader: (len) => `+CIPRECVDATA,${len}:`,
    passiveTcpOnly: true,
    recvType: false,
    unlink: true,
    dnsFail: true,
    espAtOnly: false,
    cwlapFields: versionAtLeast(version, [1, 6, 0, 0]) ? 11 : 7,
    bootGarbage: true,
  };
}
