/**
 * Command-line option scanning shared by the `iotnet` commands: `--name value`,
 * `--name=value` and flags, in order; a missing value is a `UsageError`.
 */
import { parseIPv4, parseIPv6 } from '../base/ip-address.ts';
import { UsageError } from './usage-error.ts';

/**
 * Calls `onOption(name, value, arg)` for each argument, in order. `name` is the option
 * (`--port-offset` for both `--port-offset 5` and `--port-offset=5`) or, for anything
 * else, the argument itself; `value()` takes the option's value (inline or the next
 * argument) and throws a `UsageError` when there is none.
 */
export function forEachOption(args: readonly string[], onOption: (name: string, value: () => string, arg: string) => void): void {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : undefined;
    onOption(name, () => {
      if (inline !== undefined) return inline;
      const next = args[++i];
      if (next === undefined) throw new UsageError(`${name} needs a value`);
      return next;
    }, arg);
  }
}

/** A `--port-offset` value: 0-65535. */
export function portOffsetArg(text: string): number {
  if (!/^[0-9]+$/.test(text) || Number(text) > 65535) throw new UsageError(`--port-offset: not a port offset: '${text}'`);
  return Number(text);
}

/** An IPv4 address with prefix length (`10.0.0.2/24`) for option `name`. */
export function ipv4PrefixArg(name: string, text: string): { address: string; prefixLen: number } {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(text);
  if (m === null || parseIPv4(m[1] as string) === undefined || Number(m[2]) > 32) throw new UsageError(`${name}: expected ADDR/LEN (10.0.0.2/24)${name === '--ipv4' ? ' or dhcp' : ''}, got '${text}'`);
  return { address: m[1] as string, prefixLen: Number(m[2]) };
}

/** An IPv6 unicast address with prefix length (`2001:db8::2/64`) for option `name`. */
export function ipv6PrefixArg(name: string, text: string): { address: string; prefixLen: number } {
  const m = /^([0-9A-Fa-f:.]+)\/(\d{1,3})$/.exec(text);
  const a = m === null ? undefined : parseIPv6(m[1] as string);
  const len = m === null ? -1 : Number(m[2]);
  if (a === undefined || len < 1 || len > 128 || a[0] === 0xff) throw new UsageError(`${name}: expected auto or ADDR/LEN (2001:db8::2/64), got '${text}'`);
  return { address: m?.[1] as string, prefixLen: len };
}

/** An IPv4 address for option `name`. */
export function ipv4Arg(name: string, text: string): string {
  if (parseIPv4(text) === undefined) throw new UsageError(`${name}: not an IPv4 address: '${text}'`);
  return text;
}

/** A whole number from `min` to `max` for option `name`. */
export function intArg(name: string, text: string, min: number, max: number): number {
  if (!/^-?\d{1,10}$/.test(text) || Number(text) < min || Number(text) > max) throw new UsageError(`${name}: expected a whole number from ${min} to ${max}, got '${text}'`);
  return Number(text);
}

/** A number of seconds (fractions allowed) from `min` to `max` for option `name`; returns milliseconds. */
export function secondsArg(name: string, text: string, min: number, max: number): number {
  if (!/^\d{1,7}(\.\d{1,3})?$/.test(text) || Number(text) < min || Number(text) > max) throw new UsageError(`${name}: expected seconds from ${min} to ${max}, got '${text}'`);
  return Math.round(Number(text) * 1000);
}
