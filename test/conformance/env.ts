import type { BackendCaps } from '../../src/backends/contract.ts';
import type { IotSocketLayer } from '../../src/socket/iot-socket-layer.ts';

/** Ports of the reference test server (iot-socket-api.md §16) as seen by the client. */
export interface ServerPorts {
  echo: number;
  discard: number;
  daytime: number;
  chargen: number;
  /** RFC 864 style continuous chargen (74-byte lines). */
  chargenRfc: number;
  time: number;
  control: number;
  refusing: number;
  blackHole: number;
}

/**
 * Everything the conformance suite needs from one backend under test: the client
 * (an IoT Socket layer over the backend), the reference test server it talks to,
 * and a DNS fixture. One implementation per stack (host, userspace, AT modules).
 */
export interface ConformanceEnv {
  /** The client under test. `openSockets`/`pendingCalls` serve the leak check. */
  readonly layer: IotSocketLayer;
  readonly caps: BackendCaps;
  /** IPv4 address of the test server. */
  readonly serverIp4: Uint8Array;
  /** IPv6 address of the test server, when the backend and server have IPv6. */
  readonly serverIp6: Uint8Array | undefined;
  readonly ports: ServerPorts;
  /** Local ports the control service's CONNECT command reaches back to (suite: 2000, 2001). */
  readonly listenPorts: readonly [number, number];
  /** Whether SYNs to `ports.blackHole` are silently dropped (a filter is in place). */
  readonly blackHole: boolean;
  /** A name the DNS fixture resolves, with its addresses; a name it answers NXDOMAIN for. */
  readonly dns: { readonly name: string; readonly ip4: Uint8Array; readonly ip6: Uint8Array | undefined; readonly missing: string };
  /** Connection-establishment deadline of the backend (ms). */
  readonly connectTimeoutMs: number;
  /** Packet loss injected on the path, each way, in percent (0 when none): UDP cases allow for it. */
  readonly lossPct?: number;
  teardown(): Promise<void>;
}

/** A named way to build a `ConformanceEnv`. */
export interface ConformanceTarget {
  readonly name: string;
  /** The address family the suite's sockets use (default 4): AF_INET6 sockets to `serverIp6` with 6. */
  readonly family?: 4 | 6;
  setup(): Promise<ConformanceEnv>;
}
