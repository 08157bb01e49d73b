/**
 * `iotnet/links`: how frames enter and leave a stack, on their own.
 *
 * The `Link` contract and every link the project has: the in-process ones for tests and
 * simulations (`createCable` virtual cable, `VirtualSwitch` learning switch, `Loopback`,
 * the IEEE 802.15.4 `RadioMedium` and its `RadioLink`), the Linux `TapLink`, the serial
 * links over any `ByteStream` (`SlipLink`, `PppLink` / `attachPpp`), the `WebSocketLink`
 * (Ethernet frames over a WebSocket, as a browser's stack uses) with its Node side `WsBridge`
 * (a WebSocket server attaching each connection to a `VirtualSwitch` port), and the middleware
 * that wraps a link and is one (`FaultInjector`, `PcapCapture` with `pcapFileSink` for a
 * file). The byte streams those serial links run on: `createBytePipe` (in memory,
 * `ByteFaultInjector` for line noise), `openSerialPort` (a real UART through serialport),
 * `openPty` (a pseudo-terminal pair) and `DuplexByteStream` (any `node:stream` Duplex).
 *
 * ```ts
 * import { createCable, PcapCapture, pcapFileSink } from 'iotnet/links';
 * import { Stack, CryptoRng } from 'iotnet/userspace';
 * import { systemScheduler } from 'iotnet/host';
 *
 * const [a, b] = createCable();                       // two ends of a virtual Ethernet cable
 * const file = pcapFileSink('a.pcap');
 * const stack = new Stack({ rng: new CryptoRng() });
 * stack.addInterface(new PcapCapture(a, { clock: systemScheduler, sink: file.sink }));
 * ```
 *
 * The same names are also exported by `iotnet/userspace`, beside the stack they feed.
 * `TapLink` needs Linux and the project's TAP addon, `openPty` its pty addon (both built
 * in a development checkout by `npm run build:native`; the npm package carries no native
 * code): without them they throw an error that says so, and everything else here runs
 * wherever Node runs.
 *
 * @module iotnet/links
 */
export * from './link/index.ts';
export { TapLink, type TapLinkOptions, type TapLinkStats } from './link/tap-link.ts';
export { pcapFileSink, type FileSink } from './runtime/pcap-file.ts';
export { DuplexByteStream } from './runtime/duplex-stream.ts';
export { openSerialPort, SerialByteStream, type SerialPortOptions } from './runtime/serial-port.ts';
export { openPty, PtyMaster } from './runtime/pty.ts';
export {
  WebSocketLink,
  WS_CLOSED,
  WS_CLOSING,
  WS_CONNECTING,
  WS_OPEN,
  type WebSocketLinkOptions,
  type WebSocketLinkStats,
  type WebSocketPort,
  type WebSocketPortEventType,
} from './link/websocket-link.ts';
export { FramePump, type FramePumpStats } from './apps/ws-bridge/frame-pump.ts';
export { WsBridge, type BridgeFile, type WsBridgeConnection, type WsBridgeOptions, type WsBridgeStats } from './apps/ws-bridge/ws-bridge.ts';
