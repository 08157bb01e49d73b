/**
 * Command-line option scanning shared by the `iotnet` commands: `--name value`,
 * `--name=value` and flags, in order; a missing value is a `UsageError`.
 */
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
