/**
 * Quectel BG96/BG95/EC2x cellular modules over any `ByteStream` (serial port, pty, in-memory pipe):
 * `QuectelModem` (cellular control: bring-up, SIM, registration, PDP context, resets) and
 * `QuectelDriver` (the `ModuleDriver` the generic module socket backend runs on).
 */
import type { Scheduler } from '../../base/time.ts';
import type { ByteStream } from '../../link/byte-stream.ts';
import { createModuleBackend, type ModuleBackend, type ModuleBackendOptions } from '../at/module-backend.ts';
import { QuectelDriver, type QuectelDriverOptions } from './quectel-driver.ts';
import { QuectelModem, type QuectelModemOptions } from './quectel-modem.ts';

export { QuectelDriver, QUECTEL_MAX_READ, QUECTEL_MAX_SEND, type QuectelDriverOptions, type QuectelDriverStats } from './quectel-driver.ts';
export {
  QuectelModem,
  QUECTEL_MAX_SOCKETS,
  QUECTEL_TIMEOUTS,
  type ModemLossReason,
  type ModemStatus,
  type QuectelModemEventMap,
  type QuectelModemOptions,
} from './quectel-modem.ts';
export { QUECTEL_ERRORS, quectelError, quectelRefine, quectelSocketError, type QuectelErrorInfo } from './quectel-errors.ts';
export type { ModuleIdentity, RegistrationInfo, RegistrationKind, SignalInfo } from './quectel-parse.ts';

/** Everything `createQuectel` needs: the modem's options plus the driver's. */
export interface CreateQuectelOptions extends QuectelModemOptions {
  readonly stream: ByteStream;
  readonly scheduler: Scheduler;
  /** Options of the socket driver. */
  readonly driver?: QuectelDriverOptions;
  /** Options of the socket backend (its scheduler is the modem's). */
  readonly backend?: Omit<ModuleBackendOptions, 'scheduler'>;
}

/**
 * A Quectel module: its control side, its socket driver and the socket backend over that driver
 * (give `backend` to a `Network`; call `modem.start()` to bring the module up).
 */
export interface Quectel {
  /** The modem's control side (bring-up, registration, PDP context). */
  readonly modem: QuectelModem;
  /** The socket driver (`AT+QIOPEN`, `AT+QISEND`, `AT+QIRD`, ...). */
  readonly driver: QuectelDriver;
  /** The socket backend over the driver: give it to a `Network`. */
  readonly backend: ModuleBackend;
}

/** Builds the modem, its driver and the module socket backend over one byte stream. */
export function createQuectel(options: CreateQuectelOptions): Quectel {
  const modem = new QuectelModem(options);
  const driver = new QuectelDriver(modem, options.driver);
  const backend = createModuleBackend(driver, { ...options.backend, scheduler: options.scheduler });
  return { modem, driver, backend };
}
