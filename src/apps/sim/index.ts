/**
 * AT module simulators, byte-faithful to reference `at-modules.md`: an ESP-AT WiFi module (both
 * dialects) and a Quectel BG96/EC2x/BG95 cellular modem. Each runs on the module's end of any
 * `ByteStream` (a pty master from `iotnet sim`, one end of `createBytePipe` in tests) and carries
 * its sockets over a `Network` (the host stack, or a userspace stack), with seeded fault injection.
 */
export { AtSimPort, type AtLine, type AtSimPortOptions, type AtSimPortStats, type EchoStyle, type OutputKind } from './at-sim-port.ts';
export { SimFaults, PORT_FAULTS, type FaultKind, type FaultRule, type FaultSpec } from './sim-faults.ts';
export { EspAtSim, type EspAtSimOptions, type EspAtSimStats, type EspRebootReason, type EspTiming, type EspTlsOptions } from './esp-at/esp-at-sim.ts';
export type { EspAp, EspStation } from './esp-at/esp-wifi-model.ts';
export type { EspDialectName } from './esp-at/esp-dialect.ts';
export { QuectelSim, type QuectelSimOptions, type QuectelSimStats } from './quectel/quectel-sim.ts';
export type { DataCallState, QuectelDataStats, SimDataCall, SimDataCallHandler, SimDataSession } from './quectel/quectel-data-mode.ts';
export { pppCarrier, type PppCarrier, type PppCarrierOptions, type PppCarrierStats } from './ppp-carrier.ts';
export type { QuectelApn, QuectelModel, QuectelRegistration, QuectelSignal, QuectelSimCard } from './quectel/quectel-network-model.ts';
export type { QuectelTiming } from './quectel/quectel-context.ts';
