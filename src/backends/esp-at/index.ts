/**
 * ESP-AT Wi-Fi modules (ESP-AT v2+ and NONOS-AT ≤ 1.7) over any `ByteStream`: module control
 * (`EspAtModule`), the CMSIS-style Wi-Fi face (`EspWifi`) and the socket side (`EspAtDriver`, a
 * `ModuleDriver` for the generic module socket backend).
 */
import { createModuleBackend, type ModuleBackend, type ModuleBackendOptions } from '../at/module-backend.ts';
import { EspAtDriver, type EspDriverOptions } from './esp-driver.ts';
import { EspAtModule, type EspAtModuleOptions } from './esp-module.ts';
import { EspWifi, type EspWifiOptions } from './esp-wifi.ts';

export { EspAtDriver, ESP_LINKS, type EspDriverOptions, type EspDriverStats } from './esp-driver.ts';
export {
  EspAtModule,
  ESP_DEFAULT_TIMEOUTS,
  type EspAtModuleOptions,
  type EspModuleState,
  type EspModuleStats,
  type EspResetReason,
  type EspTimeouts,
} from './esp-module.ts';
export { EspWifi, type EspWifiOptions, type WifiEvent, type WifiEventName, type WifiJoinParams, type WifiNetInfo, type WifiStatus } from './esp-wifi.ts';
export { espDialectFor, parseGmr, type EspDialect, type EspDialectKind } from './esp-dialect.ts';
export type { AccessPoint, WifiSecurity } from './esp-parse.ts';

/** Everything `createEspAt` builds. */
export interface EspAt {
  /** The module (AT engine, resets, state). */
  readonly module: EspAtModule;
  /** Its Wi-Fi station. */
  readonly wifi: EspWifi;
  /** Its socket driver. */
  readonly driver: EspAtDriver;
  /** The socket backend over `driver` (give it to a `Network`). */
  readonly backend: ModuleBackend;
}

/** Options of `createEspAt`: those of the module plus its Wi-Fi face, its socket driver and its socket backend. */
export interface CreateEspAtOptions extends EspAtModuleOptions {
  /** Options of the Wi-Fi station. */
  readonly wifi?: EspWifiOptions;
  /** Options of the socket driver. */
  readonly driver?: EspDriverOptions;
  /** Options of the socket backend (its scheduler is the module's). */
  readonly backend?: Omit<ModuleBackendOptions, 'scheduler'>;
}

/**
 * Builds the module, its Wi-Fi face, its socket driver and the module socket backend over one
 * stream. Call `wifi.initialize()` and `wifi.join(...)` next.
 */
export function createEspAt(options: CreateEspAtOptions): EspAt {
  const module = new EspAtModule(options);
  const wifi = new EspWifi(module, options.wifi);
  const driver = new EspAtDriver(module, wifi, options.driver);
  const backend = createModuleBackend(driver, { ...options.backend, scheduler: options.scheduler });
  return { module, wifi, driver, backend };
}
