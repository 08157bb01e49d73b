/**
 * The IoT deployment demo's live model: what the scenario (`iot-demo.ts`) reports while it runs,
 * and what the terminal view and the web dashboard draw. Plain JSON-safe data (no class
 * instances, no `Uint8Array`), so a snapshot can go to a browser as it is.
 *
 * The scenario owns a `DemoLive`; viewers call `snapshot()` once and then `subscribe()` for
 * updates: a fresh snapshot at most a few times a second (`tick`), every event as it happens
 * (`event`), and the summary at the end (`done`).
 */
import type { InterfaceStatus } from '../../backends/interface-status.ts';

/** What a node is in the deployment. */
export type DemoNodeRole = 'gateway' | 'device' | 'access-point' | 'carrier' | 'border-router';

/** The kind of a network interface or link. */
export type DemoMedium = 'ethernet' | 'wifi' | 'cellular' | 'serial' | 'ieee802154';

/** One network interface of a node. */
export interface DemoInterface {
  /** Unique in the demo, e.g. `wifi-dev/wlan0`. */
  readonly id: string;
  /** The interface's own name (`eth0`, `wlan0`, `ppp0`, `lowpan0`). */
  readonly name: string;
  readonly medium: DemoMedium;
  readonly status: InterfaceStatus;
  /** Why the status is what it is (`dhcp-bound`, `ap-lost`, `ipcp-up`, `registered`, ...). */
  readonly reason: string;
  /** Addresses in text form, IPv4 and IPv6. */
  readonly addresses: readonly string[];
  /** True when the node's traffic goes through this interface now (the mux's choice). */
  readonly active: boolean;
}

/** Message and byte counters of a node (devices: MQTT; the gateway: the broker's view). */
export interface DemoCounters {
  /** Telemetry messages published (devices) or received by the broker (gateway). */
  readonly sent: number;
  /** Commands received (devices) or sent by the gateway. */
  readonly received: number;
  /** Bytes written to and read from the node's sockets (TLS records included). */
  readonly bytesOut: number;
  readonly bytesIn: number;
}

/** A node of the topology. */
export interface DemoNode {
  /** Unique in the demo, e.g. `gateway`, `eth-dev`, `wifi-dev`, `cell-dev`, `mesh-dev`. */
  readonly id: string;
  /** Shown to people: `gateway`, `sensor-eth`, ... */
  readonly label: string;
  readonly role: DemoNodeRole;
  /** The stack under its sockets: `userspace`, `esp-at`, `userspace+ppp`, `userspace+6lowpan`, ... */
  readonly stack: string;
  readonly interfaces: readonly DemoInterface[];
  readonly counters: DemoCounters;
  /** One short line of what the node is doing now (`publishing`, `reconnecting`, ...). */
  readonly state: string;
}

/** A link between two nodes (an edge of the topology picture). */
export interface DemoLink {
  /** Unique in the demo; names its pcap. */
  readonly id: string;
  readonly medium: DemoMedium;
  readonly a: string;
  readonly b: string;
  /** False while the link is down (the access point off, say). */
  readonly up: boolean;
  /** The pcap file of this link, once capture is on. */
  readonly pcap?: string | undefined;
  /** Frames carried so far (both ways). */
  readonly frames: number;
}

/** Something that happened, for the timeline. */
export interface DemoEvent {
  /** Milliseconds since the demo started. */
  readonly t: number;
  readonly kind: 'phase' | 'status' | 'address' | 'dns' | 'mqtt' | 'failover' | 'failback' | 'fault' | 'error';
  /** The node it concerns, when one. */
  readonly node?: string | undefined;
  readonly text: string;
}

/** The whole picture at one moment. */
export interface DemoSnapshot {
  /** Milliseconds since the demo started. */
  readonly t: number;
  /** What the scenario is doing (`starting`, `connecting`, `running`, `ap-down`, `recovering`, `closing`, `done`). */
  readonly phase: string;
  readonly nodes: readonly DemoNode[];
  readonly links: readonly DemoLink[];
  /** The most recent events, oldest first (bounded). */
  readonly events: readonly DemoEvent[];
}

/** One failover or fail-back of a device, measured. */
export interface DemoFailover {
  readonly node: string;
  readonly from: string;
  readonly to: string;
  /** From the fault (or the recovery) to the first message delivered through `to`, in ms. */
  readonly ms: number;
}

/** Message counts of a run (all devices, or one). */
export interface DemoMessageCounts {
  /** Telemetry published by all devices, and received by the broker (no duplicates counted). */
  readonly published: number;
  readonly delivered: number;
  /** Telemetry the broker never received. */
  readonly lost: number;
  readonly duplicates: number;
  /** Commands sent by the gateway and received by the devices. */
  readonly commandsSent: number;
  readonly commandsReceived: number;
}

/** One device's part of the summary. */
export interface DemoDeviceSummary extends DemoMessageCounts {
  readonly node: string;
  readonly label: string;
  /** MQTT connections made (1 + reconnects). */
  readonly connects: number;
}

/** The end of the run. */
export interface DemoSummary extends DemoMessageCounts {
  readonly ok: boolean;
  readonly durationMs: number;
  readonly failovers: readonly DemoFailover[];
  /** One pcap per link. */
  readonly pcaps: readonly { readonly link: string; readonly path: string }[];
  /** What went wrong, when `ok` is false. */
  readonly problems: readonly string[];
  /** The same counts per device (optional: older producers leave it out). */
  readonly devices?: readonly DemoDeviceSummary[] | undefined;
}

/** An update to a viewer. */
export type DemoUpdate =
  | { readonly type: 'tick'; readonly snapshot: DemoSnapshot }
  | { readonly type: 'event'; readonly event: DemoEvent }
  | { readonly type: 'done'; readonly summary: DemoSummary };

/** The running demo as viewers see it. */
export interface DemoLive {
  /** The picture now. */
  snapshot(): DemoSnapshot;
  /** Calls `fn` for every update until the returned function is called. */
  subscribe(fn: (update: DemoUpdate) => void): () => void;
  /** The summary, once the run has ended. */
  readonly summary: DemoSummary | undefined;
}
