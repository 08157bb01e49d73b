/**
 * ESP-AT Wi-Fi modules (ESP-AT v2+ and NONOS-AT ≤ 1.7) over any `ByteStream`: module control
 * (`EspAtModule`), the CMSIS-style Wi-Fi face (`EspWifi`) and the socket side (`EspAtDriver`, a
 * `ModuleDriver` for the generic module socket backend).
 */
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
  readonly module: EspAtModule;
  readonly wifi: EspWifi;
  readonly driver: EspAtDriver;
}

export interface CreateEspAtOptions extends EspAtModuleOptions {
  readonly wifi?: EspWifiOptions;
  readonly driver?: EspDriverOptions;
}

/** Builds the module, its Wi-Fi face and its socket driver over one stream. Call `wifi.initialize()` (or `module.initialize()`) next. */
export function createEspAt(options: CreateEspAtOptions): EspAt {
  const module = new EspAtModule(options);
  const wifi = new EspWifi(module, options.wifi);
  const driver = new EspAtDriver(module, wifi, options.driver);
  return { module, wifi, driver };
}
