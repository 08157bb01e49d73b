/**
 * Parsers for the Quectel and 3GPP response lines the driver reads (reference `at-modules.md` §2,
 * §3). Pure and total: malformed input gives `undefined`, never an exception.
 */
import { fieldInt, parseAtInfo, type AtField } from '../../wire/at/at-params.ts';

/** Which registration a `+CxREG` line reports. */
export type RegistrationKind = 'CREG' | 'CGREG' | 'CEREG';

/** A registration report (URC or read form). */
export interface RegistrationInfo {
  /** Which report: `+CREG` (CS), `+CGREG` (GPRS), `+CEREG` (EPS/LTE). */
  readonly kind: RegistrationKind;
  /** 0 idle, 1 home, 2 searching, 3 denied, 4 unknown, 5 roaming. */
  readonly stat: number;
  /** Access technology (7 E-UTRAN; BG9x 8 eMTC, 9 NB-IoT), when reported. */
  readonly act?: number;
  /** Location/tracking area code (hex text), when reported. */
  readonly tac?: string;
  /** Cell id (hex text), when reported. */
  readonly ci?: string;
}

/** True for stat 1 (home) and 5 (roaming). */
export function isRegisteredStat(stat: number | undefined): boolean {
  return stat === 1 || stat === 5;
}

/**
 * Parses `+CREG:`/`+CGREG:`/`+CEREG:` lines. The read form (`AT+CEREG?`) has `<n>` first, the URC
 * does not (Zephyr counts arguments): one field is a URC stat; two unquoted fields are `<n>,<stat>`;
 * with three or more, a quoted second field means the URC's `<stat>,"<tac>",…`, else the read form.
 */
export function parseRegistration(line: string): RegistrationInfo | undefined {
  const info = parseAtInfo(line);
  if (info === undefined) return undefined;
  const kind = info.name.replace(/^\+/, '');
  if (kind !== 'CREG' && kind !== 'CGREG' && kind !== 'CEREG') return undefined;
  const f = info.fields;
  let rest: AtField[];
  if (f.length === 1) rest = f;
  else if (f.length === 2) rest = f[1]?.quoted === true ? f : f.slice(1);
  else rest = f[1]?.quoted === true ? f : f.slice(1);
  const stat = fieldInt(rest[0]);
  if (stat === undefined || stat < 0 || stat > 10) return undefined;
  const tac = rest[1]?.text;
  const ci = rest[2]?.text;
  const act = fieldInt(rest[3]);
  return {
    kind,
    stat,
    ...(tac !== undefined && tac !== '' ? { tac } : {}),
    ...(ci !== undefined && ci !== '' ? { ci } : {}),
    ...(act !== undefined ? { act } : {}),
  };
}

/** A signal report. */
export interface SignalInfo {
  /** 0–31, 99 unknown. */
  readonly rssi: number;
  /** Bit error rate class, 99 unknown. */
  readonly ber: number;
  /** −113 + 2·rssi, undefined when rssi is 99 (unknown). */
  readonly dbm: number | undefined;
}

/** Parses `+CSQ: <rssi>,<ber>`. */
export function parseCsq(line: string): SignalInfo | undefined {
  const info = parseAtInfo(line);
  if (info?.name !== '+CSQ') return undefined;
  const rssi = fieldInt(info.fields[0]);
  const ber = fieldInt(info.fields[1]);
  if (rssi === undefined || ber === undefined || rssi < 0 || rssi > 99) return undefined;
  return { rssi, ber, dbm: rssi === 99 || rssi > 31 ? undefined : -113 + 2 * rssi };
}

/** One `+QIACT: <cid>,<state>,<type>[,"<ip>"]` line. */
export interface QiactInfo {
  readonly cid: number;
  readonly state: number;
  readonly type: number;
  readonly address: string | undefined;
}

/** Parses one `+QIACT:` line of the `AT+QIACT?` reply. */
export function parseQiact(line: string): QiactInfo | undefined {
  const info = parseAtInfo(line);
  if (info?.name !== '+QIACT') return undefined;
  const cid = fieldInt(info.fields[0]);
  const state = fieldInt(info.fields[1]);
  const type = fieldInt(info.fields[2]);
  if (cid === undefined || state === undefined) return undefined;
  const address = info.fields[3]?.text;
  return { cid, state, type: type ?? 1, address: address !== undefined && address !== '' ? address : undefined };
}

/** Parses `+QIOPEN: <id>,<err>`. */
export function parseQiopen(line: string): { id: number; err: number } | undefined {
  const m = /^\+QIOPEN: ?(\d{1,3}),(\d{1,4})$/.exec(line);
  if (m === null) return undefined;
  return { id: Number(m[1]), err: Number(m[2]) };
}

/** The local port in `+QISTATE: <id>,"<type>","<ip>",<rport>,<lport>,<state>,…` for link `id`. */
export function parseQistateLocalPort(line: string, id: number): number | undefined {
  const info = parseAtInfo(line);
  if (info?.name !== '+QISTATE' || fieldInt(info.fields[0]) !== id) return undefined;
  const port = fieldInt(info.fields[4]);
  return port !== undefined && port > 0 && port <= 65535 ? port : undefined;
}

/** A `+QIURC:` line split into its kind (`recv`, `closed`, …) and the remaining fields. */
export interface QiurcInfo {
  readonly kind: string;
  readonly fields: readonly AtField[];
}

/** Parses `+QIURC: "<kind>"[,…]`. */
export function parseQiurc(line: string): QiurcInfo | undefined {
  const info = parseAtInfo(line);
  if (info?.name !== '+QIURC') return undefined;
  const [first, ...fields] = info.fields;
  if (first === undefined || !first.quoted) return undefined;
  return { kind: first.text, fields };
}

/** Parses `+QISEND: <total>,<acked>,<unacked>`. */
export function parseQisendCounters(line: string): { total: number; acked: number; unacked: number } | undefined {
  const info = parseAtInfo(line);
  if (info?.name !== '+QISEND') return undefined;
  const [total, acked, unacked] = info.fields.map(fieldInt);
  if (total === undefined || acked === undefined || unacked === undefined) return undefined;
  return { total, acked, unacked };
}

/** Parses `+QIRD: <total>,<read>,<unread>` (reply to `AT+QIRD=<id>,0`). */
export function parseQirdCounters(line: string): { total: number; read: number; unread: number } | undefined {
  const info = parseAtInfo(line);
  if (info?.name !== '+QIRD' || info.fields.length !== 3 || info.fields.some((f) => f.quoted)) return undefined;
  const [total, read, unread] = info.fields.map(fieldInt);
  if (total === undefined || read === undefined || unread === undefined) return undefined;
  return { total, read, unread };
}

/** What `ATI` says: `Quectel`, `BG96`, `Revision: BG96MAR02A07M1G`. */
export interface ModuleIdentity {
  /** `Quectel`. */
  readonly manufacturer: string;
  /** `BG96`, `EC21`, ... */
  readonly model: string;
  /** The firmware revision, when reported. */
  readonly revision: string | undefined;
}

/** Parses the information lines of `ATI` (lines that look like URCs are skipped). */
export function parseAti(lines: readonly string[]): ModuleIdentity | undefined {
  const plain = lines.filter((l) => !l.startsWith('+') && l.trim() !== '');
  const rev = plain.find((l) => /^Revision:/i.test(l));
  const rest = plain.filter((l) => l !== rev);
  const manufacturer = rest[0]?.trim();
  const model = rest[1]?.trim();
  if (manufacturer === undefined || model === undefined || !/^[A-Za-z0-9_-]{2,32}$/.test(model)) return undefined;
  return { manufacturer, model, revision: rev?.replace(/^Revision:\s*/i, '').trim() };
}
