/**
 * `iotnet/at`: external IP modules driven by AT commands over a serial line, as socket backends:
 * ESP-AT WiFi modules (`createEspAt`) and Quectel BG96/EC2x/BG95 cellular modems
 * (`createQuectel`), the generic module socket backend they share (`createModuleBackend`), the
 * AT engine, the byte-stream transports (`openSerialPort`, `openPty`, `createBytePipe`,
 * `DuplexByteStream`), the cellular dial-up interface that runs PPP under the userspace stack
 * (`CellularDialup`), and the byte-faithful simulators (`EspAtSim`, `QuectelSim`, with
 * `pppCarrier` for its data calls) the tests and `iotnet sim` use.
 *
 * ```ts
 * import { createEspAt, openSerialPort, systemScheduler } from 'iotnet/at';
 * import { Network } from 'iotnet';
 * const port = await openSerialPort('/dev/ttyUSB0', { baudRate: 115200 });
 * const esp = createEspAt({ stream: port, scheduler: systemScheduler });
 * await esp.wifi.initialize();
 * await esp.wifi.join({ ssid: 'lab', password: 'secret12' });
 * const net = new Network(esp.backend);
 * ```
 *
 * @module iotnet/at
 */
export * from './backends/esp-at/index.ts';
export * from './backends/quectel/index.ts';
export { createModuleBackend, ModuleBackend, type ModuleBackendOptions, type ModuleBackendStats } from './backends/at/module-backend.ts';
export type { ModuleDriver, ModuleEvents, ModuleLink, ModuleLinkKind, ModuleOpenRequest, ModuleReceived } from './backends/at/module-driver.ts';
export {
  AtEngine, type AtCommand, type AtDataModeExit, type AtDataModeHandlers, type AtEngineOptions, type AtEscapeOptions, type AtPattern, type AtPayload, type AtResponse, type AtUrc,
} from './backends/at/at-engine.ts';
export { CellularDialup, type CellularDialupEventMap, type CellularDialupOptions, type CellularDialupStats, type DnsSink } from './backends/cellular/cellular-dialup.ts';
export type { InterfaceStatus, InterfaceStatusEvent } from './backends/interface-status.ts';
export { AtError, isAtError, type AtErrorReason } from './backends/at/at-error.ts';
export { runChat, type AtChatOptions, type AtChatStep } from './backends/at/at-chat.ts';
export { atSocketError } from './backends/at/at-socket-error.ts';
export type { ByteStream, ModemInputs, ModemOutputs } from './link/byte-stream.ts';
export { createBytePipe, type BytePipeEnd, type BytePipeOptions } from './link/byte-pipe.ts';
export { openSerialPort, SerialByteStream, type SerialPortOptions } from './runtime/serial-port.ts';
export { openPty, PtyMaster } from './runtime/pty.ts';
export { DuplexByteStream } from './runtime/duplex-stream.ts';
export { systemScheduler } from './runtime/system-scheduler.ts';
export * from './apps/sim/index.ts';
