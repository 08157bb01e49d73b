/**
 * Daytime (RFC 867) and Time (RFC 868) payloads of the reference test server
 * (iot-socket-api.md §16). Pure: the wall-clock time is a parameter.
 */

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/**
 * The daytime string in C `ctime` style, UTC: `Www Mmm dd hh:mm:ss yyyy\r\n`, the day
 * space-padded (`Thu Nov  9 22:13:20 2023\r\n`): 26 bytes for years 1000-9999.
 */
export function daytimeString(epochMs: number): string {
  const d = new Date(epochMs);
  const day = d.getUTCDate();
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${day < 10 ? ` ${day}` : day} `
    + `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${d.getUTCFullYear()}\r\n`;
}

/** `daytimeString` as ASCII bytes. */
export function daytimeBytes(epochMs: number): Uint8Array {
  return new TextEncoder().encode(daytimeString(epochMs));
}

/** Seconds from 1900-01-01T00:00Z to the Unix epoch. */
export const RFC868_EPOCH_OFFSET = 2_208_988_800;

/**
 * The RFC 868 time: seconds since 1900-01-01T00:00Z as a big-endian uint32
 * (Unix seconds + 2 208 988 800, modulo 2^32: it wraps in 2036 as the protocol does).
 */
export function timeBytes(epochMs: number): Uint8Array {
  const seconds = (Math.floor(epochMs / 1000) + RFC868_EPOCH_OFFSET) >>> 0;
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, seconds, false);
  return out;
}
