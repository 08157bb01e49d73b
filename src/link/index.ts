/**
 * `link/`: how frames enter and leave a stack.
 *
 * Responsibility: the `Link` contract (poll-driven: `receive(now)` inside the stack's poll,
 * `transmit(now, frame)`, an `onReadable` wake-up), in-process links for tests and simulations
 * (virtual cable, learning switch, loopback, 802.15.4 radio medium), and middleware that wraps a
 * `Link` and is one (fault injection, pcap capture). Also the byte-stream contract (`ByteStream`:
 * a UART-like duplex of bytes for AT-command modules and serial links), its in-memory pair
 * (`createBytePipe`) and line noise (`ByteFaultInjector`), and the serial links over any byte
 * stream: SLIP (`SlipLink`) and PPP (`PppLink`, `attachPpp`, `pppCaptureTap`).
 *
 * Not here: protocol parsing (wire/, stack/), real time (a `Scheduler` is injected), OS access (a real
 * NIC/TUN link or a capture file goes through runtime/ or backends/).
 *
 * Invariants shared by every link here:
 * - `transmit` copies what it keeps; the caller may reuse its buffer at once. It returns false for a
 *   dropped frame and never throws for a bad one.
 * - `receive` returns a view owned by the caller until its next `receive()` on the same link; the
 *   link may reuse the memory after that (the virtual links do: no allocation per frame).
 * - Wake-ups run synchronously, once per frame that becomes receivable, possibly inside somebody's
 *   `transmit` or the consumer's own poll: they must only schedule a poll. Spurious wake-ups are
 *   allowed, missed ones are not.
 * - Nothing is delivered re-entrantly: frames wait in a queue until `receive()`.
 */
export type { Link, LinkCaps, LinkStats } from './link.ts';
export { createCable, ETHERNET_HEADER_LEN, maxFrameLen, type CableEnd, type CableOptions, type CableStats } from './virtual-cable.ts';
export {
  VirtualSwitch,
  SwitchPort,
  type MacTableEntry,
  type SwitchOptions,
  type SwitchPortStats,
  type SwitchStats,
} from './virtual-switch.ts';
export { Loopback, type LoopbackOptions, type LoopbackStats } from './loopback.ts';
export {
  FaultInjector,
  type FaultCounters,
  type FaultInjectorOptions,
  type FaultInjectorStats,
  type FaultSettings,
} from './fault-injector.ts';
export {
  DEFAULT_SNAPLEN,
  PCAP_GLOBAL_HEADER_LEN,
  PCAP_RECORD_HEADER_LEN,
  PcapCapture,
  PcapLinkType,
  pcapGlobalHeader,
  pcapRecord,
  type PcapCaptureOptions,
} from './pcap-writer.ts';
export {
  BITS_PER_BYTE_8N1,
  lineRateBytesPerSecond,
  lineTimeMs,
  type ByteStream,
  type ModemInputs,
  type ModemOutputs,
  type Unsubscribe,
} from './byte-stream.ts';
export { createBytePipe, type BytePipeEnd, type BytePipeEndOptions, type BytePipeOptions, type BytePipeStats } from './byte-pipe.ts';
export { SlipLink, type SlipLinkOptions, type SlipLinkStats } from './slip-link.ts';
export type { StreamLinkOptions, StreamLinkStats } from './stream-link.ts';
export { PppLink, type PppFrameTap, type PppLinkIpv4Options, type PppLinkOptions, type PppLinkStats } from './ppp-link.ts';
export { attachPpp, type PppAttachEvent, type PppAttachment, type PppAttachOptions } from './ppp-attach.ts';
export { pppCaptureTap, type PppCaptureOptions } from './ppp-capture.ts';
export {
  meshKey,
  meshRoutes,
  RadioMedium,
  RadioPort,
  type MeshRoute,
  type MeshTopology,
  type RadioAddress,
  type RadioCaptureOptions,
  type RadioMediumOptions,
  type RadioStats,
  type RadioTxResult,
} from './radio-medium.ts';
export { LOWPAN_IPV6_MTU, RadioLink, type RadioLinkOptions, type RadioLinkStats, type RadioTxStatus } from './radio-link.ts';
export { ByteFaultInjector, type ByteFaultSettings, type ByteFaultStats } from './byte-fault-injector.ts';
