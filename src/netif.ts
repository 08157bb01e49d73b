/**
 * `iotnet/netif`: network interfaces and the failover mux.
 *
 * Every connectivity method is a `NetworkInterface` with `connect()`/`disconnect()`, a status model
 * (`disconnected`, `connecting`, `local-up`, `global-up`) with events that say why, link events,
 * addresses and DNS servers, and its own socket backend (sockets bound to it, DNS through it):
 * `EthernetInterface` (userspace stack over any Ethernet link, DHCP or static), `WiFiInterface`
 * (ESP-AT modules), `CellularInterface` (PPP dial-up through a 3GPP modem), `CellularModuleInterface`
 * (a Quectel modem's own IP stack), `PppInterface` (PPP over a serial line),
 * `MeshInterface` (a 6LoWPAN node on an IEEE 802.15.4 radio, RFC 6775 registration). `Mux` is a socket backend over several of them in order of preference, with
 * health checks, failover, fail-back with hysteresis and prompt `ECONNABORTED` for sockets on a
 * failed interface.
 *
 * ```ts
 * import { EthernetInterface, WiFiInterface, Mux } from 'iotnet/netif';
 * import { Network } from 'iotnet';
 * const mux = new Mux({ interfaces: [wifi, eth], scheduler });
 * await Promise.all([wifi.connect(), eth.connect()]);
 * const net = new Network(mux);              // MqttClient.connect(net, ...) reconnects through the best interface
 * ```
 *
 * @module iotnet/netif
 */
export {
  InterfaceBase, NO_ADDRESSES,
  type ConnectOptions, type InterfaceAddresses, type InterfaceKind, type LinkEvent, type NetworkInterface, type NetworkInterfaceEventMap,
} from './backends/netif/network-interface.ts';
export type { InterfaceStatus, InterfaceStatusEvent } from './backends/interface-status.ts';
export * from './backends/netif/ethernet-interface.ts';
export * from './backends/netif/wifi-interface.ts';
export * from './backends/netif/cellular-interface.ts';
export * from './backends/netif/cellular-module-interface.ts';
export * from './backends/netif/ppp-interface.ts';
export * from './backends/netif/mesh-interface.ts';
export { userspaceHost, type UserspaceHost, type UserspaceHostOptions } from './backends/netif/userspace-host.ts';
export { defaultInterface, type DefaultInterfaceConfig } from './backends/netif/default-interface.ts';
export { Mux, type MuxEventMap, type MuxHealth, type MuxOptions, type MuxProbeOptions, type MuxSwitch } from './backends/mux/mux.ts';
export type { LinkState } from './stack/device.ts';
