/**
 * ESP-AT dialect table (reference `at-modules.md` §1.1): what differs between NONOS-AT (ESP8266,
 * AT ≤ 1.7.x) and ESP-AT (v2+), chosen from the `AT version:` line of `AT+GMR`. Pure.
 */

/** Which firmware family answers. */
export type EspDialectKind = 'esp-at' | 'nonos';

/** The command names and limits of one firmware. */
export interface EspDialect {
  /** `'v2'` (ESP-AT 2.x) or `'nonos'` (NONOS 1.7). */
  readonly kind: EspDialectKind;
  /** `AT version:` as four numbers (`[2, 2, 0, 0]`); `[0, 0, 0, 0]` when `AT+GMR` did not say. */
  readonly version: readonly [number, number, number, number];
  /** The `AT version:` text after the colon, as printed. */
  readonly versionText: string;
  /** Suffix of configuration commands: NONOS `_CUR` (`AT+CWJAP_CUR`), ESP-AT none. */
  readonly cur: '' | '_CUR';
  /** The command turning passive (pull) receive on for every link, or undefined when unsupported. */
  readonly passiveCommand: string | undefined;
  /** Passive receive covers UDP links too (ESP-AT); NONOS keeps UDP active. */
  readonly passiveUdp: boolean;
  /** Largest `AT+CIPSEND` payload (NONOS 2048, ESP-AT 8192). */
  readonly maxSend: number;
  /** `AT+CWLAPOPT` is available (NONOS ≥ 1.6, ESP-AT). */
  readonly cwlapOpt: boolean;
  /** `AT+SYSMSG` is available (ESP-AT). */
  readonly sysmsg: boolean;
  /** The link-list query: ESP-AT `AT+CIPSTATE?`, NONOS `AT+CIPSTATUS`. */
  readonly linkQuery: string;
  /** `AT+CIPRECVDATA` carries ip and port with CIPDINFO on (ESP-AT). */
  readonly recvDataInfo: boolean;
}

/** Compares two versions: negative, zero or positive. */
export function compareVersion(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 4; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

const VERSION_RE = /^AT version:\s*(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\.(\d{1,3}))?/;

/** The dialect of a firmware version (major ≥ 2: ESP-AT, else NONOS). */
export function espDialectFor(version: readonly [number, number, number, number], versionText = ''): EspDialect {
  const espAt = version[0] >= 2;
  if (espAt) {
    return {
      kind: 'esp-at',
      version,
      versionText,
      cur: '',
      passiveCommand: compareVersion(version, [3, 3, 0, 0]) >= 0 ? 'AT+CIPRECVTYPE=5,1' : 'AT+CIPRECVMODE=1',
      passiveUdp: true,
      maxSend: 8192,
      cwlapOpt: true,
      sysmsg: true,
      linkQuery: 'AT+CIPSTATE?',
      recvDataInfo: true,
    };
  }
  return {
    kind: 'nonos',
    version,
    versionText,
    cur: '_CUR',
    // Mbed enables passive mode from 1.7.0 (reference §1.1).
    passiveCommand: compareVersion(version, [1, 7, 0, 0]) >= 0 ? 'AT+CIPRECVMODE=1' : undefined,
    passiveUdp: false,
    maxSend: 2048,
    cwlapOpt: compareVersion(version, [1, 6, 0, 0]) >= 0,
    sysmsg: false,
    linkQuery: 'AT+CIPSTATUS',
    recvDataInfo: false,
  };
}

/**
 * The dialect from the information lines of `AT+GMR`. Without an `AT version:` line the module is
 * taken for ESP-AT 2.0 (the plain command names every current firmware accepts).
 */
export function parseGmr(lines: readonly string[]): EspDialect {
  for (const line of lines) {
    const m = VERSION_RE.exec(line.trim());
    if (m === null) continue;
    const version: [number, number, number, number] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4] ?? 0)];
    return espDialectFor(version, line.trim().slice('AT version:'.length));
  }
  return espDialectFor([2, 0, 0, 0], '');
}
