/**
 * `iotnet/userspace`: the project's own TCP/IP stack and what runs on it.
 *
 * ```ts
 * import { Stack, StackRunner, TapLink, Dhcp4Client, createUserspaceBackend, CryptoRng } from 'iotnet/userspace';
 * import { Network } from 'iotnet';
 *
 * const stack = new Stack({ rng: new CryptoRng() });
 * const ifIndex = stack.addInterface(TapLink.open('tap0'));          // or createCable(), VirtualSwitch ports
 * const runner = new StackRunner(stack);                             // drives it in real time
 * const backend = createUserspaceBackend(stack, runner);
 * const dhcp = new Dhcp4Client(stack, { ifIndex });
 * dhcp.on((e) => { if (e.type === 'bound') backend.setDnsServers(e.lease.dnsServers.map(Stack.format)); });
 * dhcp.start(runner.now());
 * const net = new Network(backend);                                  // the idiomatic API over this stack
 * ```
 *
 * `userspaceSocketApi(backend)` gives the IoT Socket table for `iotSocketRegisterApi`.
 * `TapLink` needs Linux and the project's addon (`npm run build:native`); everything else
 * runs anywhere Node runs.
 *
 * @module iotnet/userspace
 */
import type { UserspaceBackend } from './backends/userspace/userspace-backend.ts';
import type { IotSocketApi } from './socket/iot-socket-types.ts';
import { IotSocketLayer, type IotSocketLayerOptions } from './socket/iot-socket-layer.ts';

export { Stack, toIpv4, toIpv6 } from './stack/stack.ts';
export type { IcmpCounters, InterfaceOptions, PingOptions, PingResult, StackOptions, StackStats } from './stack/stack.ts';
export { StackRunner, type PolledStack, type StackRunnerOptions } from './runtime/stack-runner.ts';
export { CryptoRng } from './runtime/crypto-rng.ts';
export { pcapFileSink, type FileSink } from './runtime/pcap-file.ts';
export { XorShiftRng, type Rng } from './base/rand.ts';
export { VirtualScheduler, type Scheduler } from './base/time.ts';
export * from './link/index.ts';
export { TapLink, type TapLinkOptions, type TapLinkStats } from './link/tap-link.ts';
export { DuplexByteStream } from './runtime/duplex-stream.ts';
export { openSerialPort, SerialByteStream, type SerialPortOptions } from './runtime/serial-port.ts';
export { openPty, PtyMaster } from './runtime/pty.ts';
export { PppSession, type PppDownReason, type PppEvent, type PppPhase, type PppSessionOptions, type PppSessionStats } from './stack/ppp/ppp-session.ts';
export type { PppAuthProtocol } from './stack/ppp/lcp-options.ts';
export type { AuthOutcome, SecretLookup } from './stack/ppp/ppp-auth-common.ts';
export type { LowpanAdaptation, LowpanAdaptationOptions, LowpanStats } from './stack/lowpan/adaptation.ts';
export type { LowpanNdOptions, LowpanRouterConfig } from './stack/lowpan/lowpan-nd.ts';
export type { Ieee802154Identity } from './stack/device.ts';
export { createUserspaceBackend, UserspaceBackend, type UserspaceBackendOptions } from './backends/userspace/index.ts';
export { TcpLayer } from './stack/tcp/tcp-layer.ts';
export {
  Dhcp4Client, DHCP4_CLIENT_TIMING, dhcp4ClientIdFromMac,
  type Dhcp4ClientEvent, type Dhcp4ClientOptions, type Dhcp4ClientState, type Dhcp4ClientStats, type Dhcp4ClientTiming, type Dhcp4Lease,
} from './stack/dhcp/dhcp4-client.ts';
export {
  Dhcp4Server,
  type Dhcp4Reservation, type Dhcp4ServerEvent, type Dhcp4ServerLease, type Dhcp4ServerLeaseState, type Dhcp4ServerOptions, type Dhcp4ServerStats,
} from './stack/dhcp/dhcp4-server.ts';
export * from './backends/dns/index.ts';
export { startDnsServer, DnsServer, DnsZone, type DnsServerOptions, type DnsZoneConfig, type DnsRecord } from './apps/dns-server/index.ts';

/** The IoT Socket API table of an IoT Socket layer over `backend`, for `iotSocketRegisterApi`. */
export function userspaceSocketApi(backend: UserspaceBackend, options: IotSocketLayerOptions = {}): IotSocketApi {
  return new IotSocketLayer(backend, options).api();
}
