/**
 * The reference test server (iot-socket-api.md §16): SockServer v1.1's services plus
 * the Mbed test plan's daytime and time, over the idiomatic API (`Network`), so it runs
 * on any backend: the host OS, a userspace stack in a virtual network, ...
 *
 * | Service    | Port | TCP                                   | UDP                         |
 * |------------|------|---------------------------------------|-----------------------------|
 * | echo       | 7    | echo ≤ 2000-byte reads; ESC / EOF close | echo each datagram         |
 * | discard    | 9    | 40-byte reads dropped; ESC / EOF close | drop                        |
 * | daytime    | 13   | ctime string, close                   | ctime string                |
 * | chargen    | 19   | one 81-byte line per 100 ms (SockServer) | one line of 2..512 bytes |
 * | chargenRfc | 5019 | RFC 864 lines as fast as flow control allows | RFC 864 stream, 2..512 bytes |
 * | time       | 37   | 4-byte RFC 868 time, close            | 4-byte time                 |
 * | control    | 5000 | CONNECT / SEND / RECV                 | —                           |
 * | refusing   | 5001 | no listener at all (RST → ECONNREFUSED) | —                         |
 * | blackHole  | 5002 | not served: SYNs must be dropped by a filter (see below) | —        |
 *
 * `chargenStyle: 'rfc864'` makes port 19 use the RFC 864 pattern too. Every port is
 * `base + portOffset` (base ports overridable through `ports`; ports 7-37 need root on
 * POSIX, hence the offset). IPv4 listeners always; IPv6 listeners too when the backend
 * has IPv6 and `ipv6` is not false (if any IPv6 listener fails, IPv6 is dropped as a
 * whole and `ipv6Error` says why). With `host`, only that address (and family) is used.
 *
 * The black hole (SYN silently dropped → ETIMEDOUT) cannot be made with a listener on
 * the host stack: a test installs an ingress filter for `ports.blackHole` on its virtual
 * link, or `iptables -A INPUT -p tcp --dport <port> -j DROP` in its netns. Likewise
 * `ports.refusing` must simply stay unused.
 *
 * Timers (chargen pacing, control delays, SEND duration) run on the injected
 * `Scheduler`; UDP chargen lengths come from a seeded `Rng`.
 */
import type { IotCode } from '../../base/iot-constants.ts';
import type { Rng } from '../../base/rand.ts';
import { XorShiftRng, randomInt } from '../../base/rand.ts';
import { SocketError } from '../../base/socket-error.ts';
import type { Scheduler } from '../../base/time.ts';
import type { Network } from '../../socket/network.ts';
import { SocketAddress } from '../../socket/socket-address.ts';
import type { TcpServer } from '../../socket/tcp-server.ts';
import type { TcpSocket } from '../../socket/tcp-socket.ts';
import type { UdpSocket } from '../../socket/udp-socket.ts';
import { Rfc864Chargen, SOCKSERVER_TCP_LINE, SockServerChargen } from './chargen.ts';
import {
  COMMAND_DELAY_MS,
  COMMAND_MAX_BYTES,
  COMMAND_TIMEOUT_MS,
  GREETING,
  GREETING_LINGER_MS,
  SendBlocks,
  StopCounter,
  parseControlInput,
  statReply,
} from './control.ts';
import type { ConnectCommand } from './control.ts';
import { daytimeBytes, timeBytes } from './daytime.ts';

/** Ports of the reference test server. */
export interface SockServerPorts {
  readonly echo: number;
  readonly discard: number;
  readonly daytime: number;
  readonly chargen: number;
  /** RFC 864 style chargen (an iotnet addition; the Mbed 100 KB receive check). */
  readonly chargenRfc: number;
  readonly time: number;
  /** The control ("assistant") service. */
  readonly control: number;
  /** Never listened on: connections are refused. */
  readonly refusing: number;
  /** Never listened on; a test drops SYNs to it with a filter to get ETIMEDOUT. */
  readonly blackHole: number;
}

/** The default (upstream) ports, without offset. */
export const DEFAULT_PORTS: SockServerPorts = Object.freeze({
  echo: 7,
  discard: 9,
  daytime: 13,
  chargen: 19,
  chargenRfc: 5019,
  time: 37,
  control: 5000,
  refusing: 5001,
  blackHole: 5002,
});

export type SockServerService = 'echo' | 'discard' | 'daytime' | 'chargen' | 'chargenRfc' | 'time' | 'control';

/** Options of `startSockServer`. */
export interface SockServerOptions {
  /** Added to every port (default 0: the upstream ports, which need root on POSIX). */
  portOffset?: number | undefined;
  /** Base ports to use instead of `DEFAULT_PORTS` (the offset still applies). */
  ports?: Partial<SockServerPorts> | undefined;
  /** Listen on this address only (default: `0.0.0.0`, plus `::` when IPv6 is available). */
  host?: string | undefined;
  /** Also listen on IPv6 (default true; only when the backend has IPv6). */
  ipv6?: boolean | undefined;
  /** Pattern of the chargen port: `'sockserver'` (default) or `'rfc864'`. */
  chargenStyle?: 'sockserver' | 'rfc864' | undefined;
  /** Timers (default: the network's scheduler). */
  scheduler?: Scheduler | undefined;
  /** Randomness for UDP chargen lengths (default: `XorShiftRng(seed)`). */
  rng?: Rng | undefined;
  /** Seed of the default `Rng` (default 864). */
  seed?: number | undefined;
  /** Interval between SockServer-style TCP chargen lines (default 100 ms). */
  chargenIntervalMs?: number | undefined;
  /** Reports failures inside sessions (never thrown). */
  onError?: ((error: unknown, service: SockServerService) => void) | undefined;
}

/** One listening endpoint. */
export interface SockServerListener {
  readonly service: SockServerService;
  readonly protocol: 'tcp' | 'udp';
  readonly address: SocketAddress;
}

/** A running reference test server. */
export interface SockServer {
  /** The ports in use (offset applied), including `refusing` and `blackHole`. */
  readonly ports: SockServerPorts;
  /** Every listening endpoint, in start order. */
  readonly listeners: readonly SockServerListener[];
  /** True when the IPv6 listeners are up. */
  readonly ipv6: boolean;
  /** Why IPv6 was dropped, when it was wanted but failed. */
  readonly ipv6Error: unknown;
  /** Stops every listener and session. */
  close(): Promise<void>;
}

const ESC = 0x1b;
const ECHO_READ = 2000;
const DISCARD_READ = 40;
const CHARGEN_READ = 82;
const UDP_CHARGEN_MIN = 2;
const UDP_CHARGEN_MAX = 512;
/** RFC 864 TCP write size: 95 lines (one full turn of the ring). */
const RFC_CHUNK = 95 * 74;

/** Waits `ms` on `scheduler`; rejects with the signal's reason on abort. */
function sleep(scheduler: Scheduler, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      cancel();
      reject(signal.reason);
    };
    const cancel = scheduler.setTimer(ms, () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function resolvePorts(options: SockServerOptions): SockServerPorts {
  const offset = options.portOffset ?? 0;
  if (!Number.isInteger(offset) || offset < 0) {
    throw new SocketError('EINVAL', { op: 'sockserver', reason: 'bad-port-offset' });
  }
  const base = { ...DEFAULT_PORTS, ...options.ports };
  const out: Record<string, number> = {};
  for (const [name, port] of Object.entries(base)) {
    const p = port + offset;
    if (!Number.isInteger(port) || port < 1 || p > 65535) {
      throw new SocketError('EINVAL', { op: 'sockserver', reason: `bad-port:${name}` });
    }
    out[name] = p;
  }
  return out as unknown as SockServerPorts;
}

/** Starts the reference test server on `network`. See the module comment. */
export async function startSockServer(network: Network, options: SockServerOptions = {}): Promise<SockServer> {
  const ports = resolvePorts(options);
  const scheduler = options.scheduler ?? network.scheduler;
  const rng = options.rng ?? new XorShiftRng(options.seed ?? 864);
  const chargenInterval = options.chargenIntervalMs ?? 100;
  const controller = new AbortController();
  const signal = controller.signal;
  const sessions = new Set<TcpSocket>();
  const servers: Array<TcpServer | UdpSocket> = [];
  const tasks = new Set<Promise<void>>();
  const listeners: SockServerListener[] = [];
  const udpChargen = new SockServerChargen();
  const udpRfcChargen = new Rfc864Chargen();

  const report = (error: unknown, service: SockServerService): void => {
    if (signal.aborted) return;
    if (error === signal.reason) return;
    try {
      options.onError?.(error, service);
    } catch {
      // A failing reporter must not take the server down.
    }
  };
  const spawn = (service: SockServerService, body: () => Promise<void>): void => {
    const task = body().catch((e: unknown) => report(e, service));
    tasks.add(task);
    void task.finally(() => tasks.delete(task));
  };

  /** Runs one TCP session; the socket is destroyed if the handler fails, closed otherwise. */
  const session = (service: SockServerService, socket: TcpSocket, handler: (s: TcpSocket) => Promise<void>): void => {
    sessions.add(socket);
    spawn(service, async () => {
      try {
        await handler(socket);
        await socket.close();
      } catch (e) {
        socket.destroy();
        if (!isQuietEnd(e)) throw e;
      } finally {
        sessions.delete(socket);
      }
    });
  };

  // ---- TCP handlers -------------------------------------------------------------------

  const echo = async (s: TcpSocket): Promise<void> => {
    for (;;) {
      const chunk = await s.read({ maxBytes: ECHO_READ });
      if (chunk === null) return;
      await s.write(chunk);
      if (chunk[0] === ESC) return;
    }
  };

  const discard = async (s: TcpSocket): Promise<void> => {
    for (;;) {
      const chunk = await s.read({ maxBytes: DISCARD_READ });
      if (chunk === null || chunk[0] === ESC) return;
    }
  };

  const daytime = async (s: TcpSocket): Promise<void> => {
    await s.write(daytimeBytes(scheduler.wallClock()));
  };

  const time = async (s: TcpSocket): Promise<void> => {
    await s.write(timeBytes(scheduler.wallClock()));
  };

  /** Reads until ESC-led chunk, EOF or error; resolves then (never rejects). */
  const watchInput = (s: TcpSocket, stop: AbortController): Promise<void> =>
    (async () => {
      try {
        for (;;) {
          const chunk = await s.read({ maxBytes: CHARGEN_READ, signal: stop.signal });
          if (chunk === null || chunk[0] === ESC) return;
        }
      } catch {
        // Error or abort: the generator stops too.
      } finally {
        stop.abort();
      }
    })();

  const chargenSockServer = async (s: TcpSocket): Promise<void> => {
    const gen = new SockServerChargen();
    const stop = new AbortController();
    const onServerClose = (): void => stop.abort();
    signal.addEventListener('abort', onServerClose, { once: true });
    const input = watchInput(s, stop);
    try {
      while (!stop.signal.aborted) {
        await s.write(gen.line(SOCKSERVER_TCP_LINE), { signal: stop.signal });
        await sleep(scheduler, chargenInterval, stop.signal);
      }
    } catch (e) {
      if (!stop.signal.aborted) throw e;
    } finally {
      stop.abort();
      signal.removeEventListener('abort', onServerClose);
      await input;
    }
  };

  const chargenRfc = async (s: TcpSocket): Promise<void> => {
    const gen = new Rfc864Chargen();
    const stop = new AbortController();
    const onServerClose = (): void => stop.abort();
    signal.addEventListener('abort', onServerClose, { once: true });
    const input = watchInput(s, stop);
    try {
      while (!stop.signal.aborted) await s.write(gen.take(RFC_CHUNK), { signal: stop.signal });
    } catch (e) {
      if (!stop.signal.aborted) throw e;
    } finally {
      stop.abort();
      signal.removeEventListener('abort', onServerClose);
      await input;
    }
  };

  const control = async (s: TcpSocket): Promise<void> => {
    let first: Uint8Array | null;
    try {
      first = await s.read({ maxBytes: COMMAND_MAX_BYTES, timeoutMs: COMMAND_TIMEOUT_MS, signal });
    } catch (e) {
      if (e instanceof SocketError && e.code === 'ETIMEDOUT') return;
      throw e;
    }
    if (first === null) return;
    const parsed = parseControlInput(first);
    if (parsed === undefined) return;
    const { command, rest } = parsed;
    switch (command.kind) {
      case 'connect': {
        const peer = s.remoteAddress;
        await sleep(scheduler, COMMAND_DELAY_MS, signal);
        await s.close();
        spawn('control', () => connectBack(command, peer));
        return;
      }
      case 'send': {
        await sleep(scheduler, COMMAND_DELAY_MS, signal);
        const blocks = new SendBlocks(command.blockSize);
        const start = scheduler.now();
        let sent = 0;
        do {
          await s.write(blocks.next(), { signal });
          sent += command.blockSize;
        } while (scheduler.now() - start < command.timeMs);
        await s.write(statReply(sent), { signal });
        await drain(s);
        return;
      }
      case 'recv': {
        await sleep(scheduler, COMMAND_DELAY_MS, signal);
        const counter = new StopCounter();
        // The bytes that came with the command first, then reads until STOP or EOF.
        let chunk: Uint8Array | null = rest;
        while (chunk !== null && !counter.push(chunk)) chunk = await s.read({ maxBytes: command.blockSize, signal });
        await s.write(statReply(counter.count), { signal });
        if (!counter.stopped) return; // EOF already seen: nothing left to drain
        await drain(s);
        return;
      }
    }
  };

  const drain = async (s: TcpSocket): Promise<void> => {
    while ((await s.read({ signal })) !== null) {
      // discard until the client closes
    }
  };

  const connectBack = async (command: ConnectCommand, peer: SocketAddress): Promise<void> => {
    const target = command.address.every((b) => b === 0)
      ? SocketAddress.fromBytes(peer.bytes, command.port)
      : SocketAddress.fromBytes(command.address, command.port);
    await sleep(scheduler, command.delayMs, signal);
    if (command.protocol === 'tcp') {
      let socket: TcpSocket;
      try {
        socket = await network.connect(target, { signal });
      } catch (e) {
        if (e instanceof SocketError) return; // refused, timed out: nothing to do (upstream too)
        throw e;
      }
      sessions.add(socket);
      try {
        await socket.write(GREETING, { signal });
        await sleep(scheduler, GREETING_LINGER_MS, signal);
        await socket.close();
      } catch (e) {
        socket.destroy();
        if (!isQuietEnd(e) && e !== signal.reason) throw e;
      } finally {
        sessions.delete(socket);
      }
    } else {
      const udp = await network.udp({ family: target.family });
      try {
        await udp.connect(target, { signal });
        await udp.send(GREETING);
        await sleep(scheduler, GREETING_LINGER_MS, signal);
      } catch (e) {
        if (!(e instanceof SocketError) && e !== signal.reason) throw e;
      } finally {
        await udp.close();
      }
    }
  };

  const tcpHandlers: Record<SockServerService, (s: TcpSocket) => Promise<void>> = {
    echo,
    discard,
    daytime,
    chargen: options.chargenStyle === 'rfc864' ? chargenRfc : chargenSockServer,
    chargenRfc,
    time,
    control,
  };

  // ---- UDP handlers -------------------------------------------------------------------

  type UdpReply = (data: Uint8Array) => Uint8Array | undefined;
  const udpRfc: UdpReply = () => udpRfcChargen.take(randomInt(rng, UDP_CHARGEN_MIN, UDP_CHARGEN_MAX));
  const udpHandlers: Partial<Record<SockServerService, UdpReply>> = {
    echo: (data) => data,
    discard: () => undefined,
    daytime: () => daytimeBytes(scheduler.wallClock()),
    chargen: options.chargenStyle === 'rfc864'
      ? udpRfc
      : () => udpChargen.line(randomInt(rng, UDP_CHARGEN_MIN, UDP_CHARGEN_MAX)),
    chargenRfc: udpRfc,
    time: () => timeBytes(scheduler.wallClock()),
  };

  // ---- listeners ----------------------------------------------------------------------

  const serveTcp = (service: SockServerService, server: TcpServer): void => {
    spawn(service, async () => {
      for await (const socket of server) session(service, socket, tcpHandlers[service]);
    });
  };

  const serveUdp = (service: SockServerService, socket: UdpSocket, reply: UdpReply): void => {
    spawn(service, async () => {
      for await (const { data, from } of socket) {
        const answer = reply(data);
        if (answer === undefined || answer.length === 0) continue; // (empty datagrams cannot be sent)
        try {
          await socket.send(answer, from);
        } catch (e) {
          if (socket.closed) return;
          report(e, service);
        }
      }
    });
  };

  const services: SockServerService[] = ['echo', 'discard', 'daytime', 'chargen', 'chargenRfc', 'time', 'control'];

  /** Opens every listener of one local address; on failure closes what it opened and throws. */
  const openFamily = async (host: string): Promise<Array<() => void>> => {
    const opened: Array<TcpServer | UdpSocket> = [];
    const mine: SockServerListener[] = [];
    const starters: Array<() => void> = [];
    try {
      for (const service of services) {
        const port = ports[service];
        const server = await network.listen({ port, host, backlog: 8 });
        opened.push(server);
        mine.push({ service, protocol: 'tcp', address: server.address });
        starters.push(() => serveTcp(service, server));
        const reply = udpHandlers[service];
        if (reply !== undefined) {
          const udp = await network.udp({ port, host });
          opened.push(udp);
          mine.push({ service, protocol: 'udp', address: udp.address });
          starters.push(() => serveUdp(service, udp, reply));
        }
      }
    } catch (e) {
      await Promise.all(opened.map((o) => o.close()));
      throw e;
    }
    servers.push(...opened);
    listeners.push(...mine);
    return starters;
  };

  const closeAll = async (): Promise<void> => {
    controller.abort(new SocketError('ECONNABORTED', { op: 'sockserver', reason: 'server-closed' }));
    await Promise.all(servers.map((s) => s.close()));
    for (const s of sessions) s.destroy();
    sessions.clear();
    await Promise.allSettled([...tasks]);
  };

  let ipv6 = false;
  let ipv6Error: unknown;
  const starters: Array<() => void> = [];
  try {
    if (options.host !== undefined) {
      starters.push(...(await openFamily(options.host)));
      ipv6 = listeners.some((l) => l.address.family === 6);
    } else {
      starters.push(...(await openFamily('0.0.0.0')));
      if (options.ipv6 !== false && network.backend.caps.ipv6) {
        try {
          starters.push(...(await openFamily('::')));
          ipv6 = true;
        } catch (e) {
          ipv6Error = e;
        }
      }
    }
  } catch (e) {
    await closeAll();
    throw e;
  }
  for (const start of starters) start();

  let closing: Promise<void> | undefined;
  return {
    ports,
    listeners,
    ipv6,
    ipv6Error,
    close: () => (closing ??= closeAll()),
  };
}

const QUIET: ReadonlySet<IotCode> = new Set<IotCode>(['ECONNRESET', 'ECONNABORTED', 'ESOCK']);

/** Ends of a session that are the client's doing (reset, abort) or ours (closed): not worth reporting. */
function isQuietEnd(e: unknown): boolean {
  return e instanceof SocketError && QUIET.has(e.code);
}
