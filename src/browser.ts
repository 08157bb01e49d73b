/**
 * `iotnet/browser`: the userspace TCP/IP stack for a web page, joined to a Node-side stack by a
 * WebSocket link (see docs/browser.md). Bundle it with scripts/build-browser.mjs (esbuild,
 * platform browser: the build fails when a Node built-in slips in).
 *
 * ```ts
 * import { Stack, WebSocketLink, createBrowserRunner, createUserspaceBackend, Dhcp4Client, Network, CryptoRng } from 'iotnet/browser';
 *
 * const ws = new WebSocket('ws://127.0.0.1:8080/link');            // a ws-bridge (src/apps/ws-bridge/)
 * await new Promise((r) => ws.addEventListener('open', r, { once: true }));
 * const rng = new CryptoRng();
 * const stack = new Stack({ rng, name: 'page' });
 * const ifIndex = stack.addInterface(new WebSocketLink(ws));
 * const runner = createBrowserRunner(stack);
 * const backend = createUserspaceBackend(stack, runner, { rng });
 * const dhcp = new Dhcp4Client(stack, { ifIndex });
 * dhcp.on((e) => { if (e.type === 'bound') backend.setDnsServers(e.lease.dnsServers.map(Stack.format)); });
 * dhcp.start(runner.now());
 * const net = new Network(backend, { scheduler: runner.scheduler, rng });
 * const socket = await net.connect('10.77.0.1:7');
 * ```
 *
 * What is not here: the host stack, TAP, serial and PPP-over-serial links, the file-backed pcap
 * sink, TLS, the HTTP agents and MQTT (they need Node built-ins). `TcpSocket.toDuplex()` and
 * `Network.connectDuplex()` exist but throw `SocketError('ENOTSUP')` in the bundle (no
 * `node:stream`). DNS lookups work: the resolver's `dns-packet` codec runs on the `buffer`
 * package, which the bundle carries in place of `node:buffer`.
 *
 * @module iotnet/browser
 */
export { Stack, toIpv4, toIpv6 } from './stack/stack.ts';
export type { InterfaceOptions, PingOptions, PingResult, StackOptions, StackStats } from './stack/stack.ts';
// WebSocketLink, its WS_* readyState constants, WebSocketPort and the options and stats types.
export * from './link/websocket-link.ts';
export { createCable, VirtualSwitch, type CableEnd, type CableOptions } from './link/index.ts';
export type { Link, LinkCaps, LinkStats } from './link/link.ts';
export { StackRunner, type PolledStack, type StackRunnerOptions } from './runtime/stack-runner.ts';
export { createBrowserRunner, createBrowserScheduler, TaskQueue, type BrowserRunnerOptions } from './runtime/browser-runner.ts';
export { CryptoRng } from './runtime/crypto-rng.ts';
export { XorShiftRng, type Rng } from './base/rand.ts';
export { VirtualScheduler, type Scheduler } from './base/time.ts';
export { createUserspaceBackend, UserspaceBackend, type UserspaceBackendOptions } from './backends/userspace/index.ts';
export {
  Dhcp4Client,
  type Dhcp4ClientEvent,
  type Dhcp4ClientOptions,
  type Dhcp4ClientState,
  type Dhcp4ClientStats,
  type Dhcp4ClientTiming,
  type Dhcp4Lease,
} from './stack/dhcp/dhcp4-client.ts';
export { Network } from './socket/network.ts';
export type { ConnectOptions, ConnectTarget, ListenOptions, LookupOptions, NetworkOptions, UdpOptions } from './socket/network.ts';
export { TcpSocket, type ReadOptions, type WriteOptions } from './socket/tcp-socket.ts';
export { TcpServer, type AcceptOptions } from './socket/tcp-server.ts';
export { UdpSocket, type Datagram, type RecvOptions, type SendOptions } from './socket/udp-socket.ts';
export { SocketAddress } from './socket/socket-address.ts';
export { SocketError, isSocketError, type SocketErrorDetail } from './base/socket-error.ts';
export type { IotCode } from './base/iot-constants.ts';
