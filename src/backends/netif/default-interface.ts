/**
 * The default interface, chosen by configuration (Mbed's `NetworkInterface::get_default_instance()`
 * with `target.network-default-interface-type`): among the interfaces an application built, the one
 * named by `config.default` (an interface name like `wlan0`, or a kind like `'cellular'`), else by
 * the environment variable `IOTNET_DEFAULT_INTERFACE` when the caller passes `env`, else the first
 * of Mbed's order: Ethernet, WiFi, cellular, mesh, PPP. Undefined when nothing matches.
 */
import type { InterfaceKind, NetworkInterface } from './network-interface.ts';

/** Which interface `defaultInterface` picks. */
export interface DefaultInterfaceConfig {
  /** An interface name (`eth0`) or kind (`'wifi'`). */
  readonly default?: string | undefined;
}

const ORDER: readonly InterfaceKind[] = ['ethernet', 'wifi', 'cellular', 'mesh', 'ppp'];

/**
 * The default interface among `candidates`: the one named (or of the kind given) by `config.default`, else by
 * `env.IOTNET_DEFAULT_INTERFACE`; without either, the first by kind in the order ethernet, wifi, cellular, mesh, ppp
 * (else the first candidate). `undefined` when a wanted one is missing or there are no candidates.
 */
export function defaultInterface(
  candidates: readonly NetworkInterface[],
  config: DefaultInterfaceConfig = {},
  env?: Readonly<Record<string, string | undefined>>,
): NetworkInterface | undefined {
  const wanted = config.default ?? env?.IOTNET_DEFAULT_INTERFACE;
  if (wanted !== undefined && wanted !== '') {
    return candidates.find((n) => n.name === wanted) ?? candidates.find((n) => n.kind === wanted);
  }
  for (const kind of ORDER) {
    const n = candidates.find((c) => c.kind === kind);
    if (n !== undefined) return n;
  }
  return candidates[0];
}
