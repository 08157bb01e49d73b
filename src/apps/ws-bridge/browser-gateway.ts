/**
 * The Node side of the browser stack: a "gateway" userspace stack on a `VirtualSwitch`, whose
 * other ports are WebSocket connections from pages (ws-bridge.ts).
 *
 *   page stack ── WebSocketLink ══ ws ══ WebSocketLink ── FramePump ──┐
 *   page stack ── ...                                                ├── VirtualSwitch
 *   gateway 10.77.0.1/24 (userspace Stack, StackRunner, real time) ──┘
 *
 * The gateway serves, on its own address:
 * - DHCPv4 (pool 10.77.0.100-199, router and DNS itself, domain `browser.test`), so a page's
 *   stack gets its address by DHCP;
 * - DNS for `browser.test` (`gateway.browser.test` -> the gateway), UDP and TCP on port 53;
 * - TCP echo on port 7 (RFC 862: every byte back until the client's FIN, then FIN; unlike the
 *   reference test server's echo, no byte closes the session, so any payload comes back whole);
 * - HTTP on port 80: `node:http`'s `Server` over the userspace stack's TCP sockets (each
 *   accepted `TcpSocket` becomes a `Duplex` handed to `server.emit('connection', ...)`), so a
 *   page's request goes through our stacks at both ends. Default routes: `GET /hello` (a short
 *   text), `GET /data/N` (N bytes of `httpDataByte(i)`, N <= 4 MiB, with a Content-Length) and
 *   `GET /chunked/N` (the same bytes in the chunked transfer coding).
 */
import http from 'node:http';
import { VirtualSwitch, type SwitchPort } from '../../link/index.ts';
import { createUserspaceBackend, type UserspaceBackend } from '../../backends/userspace/index.ts';
import { CryptoRng } from '../../runtime/crypto-rng.ts';
import { StackRunner } from '../../runtime/stack-runner.ts';
import { Network } from '../../socket/network.ts';
import type { TcpServer } from '../../socket/tcp-server.ts';
import { Dhcp4Server } from '../../stack/dhcp/dhcp4-server.ts';
import { Stack } from '../../stack/stack.ts';
import { startDnsServer, type DnsServer } from '../dns-server/index.ts';
import type { TcpSocket } from '../../socket/tcp-socket.ts';

/** The gateway's network plan. */
export const BROWSER_GATEWAY_NET = Object.freeze({
  gateway: '10.77.0.1',
  prefixLen: 24,
  gatewayMac: '02:00:0a:4d:00:01',
  pool: Object.freeze({ start: '10.77.0.100', end: '10.77.0.199' }),
  domain: 'browser.test',
  gatewayName: 'gateway.browser.test',
  leaseSeconds: 3600,
  echoPort: 7,
  httpPort: 80,
});

/** The body text of `GET /hello`. */
export const HELLO_BODY = 'hello from the iotnet gateway: node:http over a userspace TCP/IP stack\n';
/** Largest `GET /data/N`. */
export const MAX_DATA_BYTES = 4 << 20;

/** Byte `i` of a `GET /data/N` body. */
export function httpDataByte(i: number): number {
  return (i * 31 + 7) & 0xff;
}

/** The default HTTP routes (see the module comment). */
export function defaultGatewayHandler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = req.url ?? '/';
  const data = /^\/(data|chunked)\/(\d{1,8})$/.exec(url);
  if (req.method === 'GET' && url === '/hello') {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(HELLO_BODY) });
    res.end(HELLO_BODY);
  } else if (req.method === 'GET' && data !== null && Number(data[2]) <= MAX_DATA_BYTES) {
    const n = Number(data[2]);
    const body = Buffer.alloc(n);
    for (let i = 0; i < n; i++) body[i] = httpDataByte(i);
    if (data[1] === 'data') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': n });
      res.end(body);
      return;
    }
    // No length: node:http sends it with the chunked transfer coding, in 16 KiB writes.
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    for (let off = 0; off < n; off += 16_384) res.write(body.subarray(off, Math.min(n, off + 16_384)));
    res.end();
  } else {
    res.writeHead(404, { 'content-type': 'text/plain', 'content-length': 10 });
    res.end('not found\n');
  }
}

/** Options of `startBrowserGateway`. */
export interface BrowserGatewayOptions {
  /** HTTP request handler (default `defaultGatewayHandler`). */
  httpHandler?: http.RequestListener | undefined;
  /** Called with failures of the gateway's services (never thrown). */
  onError?: ((error: unknown, where: string) => void) | undefined;
}

/** A running gateway. */
export interface BrowserGateway {
  /** The switch the gateway sits on: attach pages with `switch.port()` (ws-bridge.ts does). */
  readonly switch: VirtualSwitch;
  readonly stack: Stack;
  readonly runner: StackRunner;
  readonly backend: UserspaceBackend;
  readonly network: Network;
  readonly ifIndex: number;
  readonly dhcp: Dhcp4Server;
  readonly dns: DnsServer;
  /** TCP echo connections accepted so far. */
  readonly echoConnections: number;
  /** The `node:http` server fed by the userspace listener on port 80. */
  readonly http: http.Server;
  /** HTTP connections accepted so far. */
  readonly httpConnections: number;
  /** Stops every service, then the stack. Idempotent. */
  close(): Promise<void>;
}

/** Serves every connection `listener` accepts with `serve` until the listener closes; returns the count getter. */
function acceptLoop(listener: TcpServer, serve: (socket: TcpSocket) => void, onError: (e: unknown) => void): () => number {
  let count = 0;
  void (async () => {
    try {
      for await (const socket of listener) {
        count++;
        serve(socket);
      }
    } catch (e) {
      if (!listener.closed) onError(e);
    }
  })();
  return () => count;
}

/** RFC 862 echo on one connection: every byte back, FIN after the client's FIN. */
async function echoSession(socket: TcpSocket): Promise<void> {
  try {
    for (;;) {
      const chunk = await socket.read();
      if (chunk === null) break;
      await socket.write(chunk);
    }
    await socket.end();
  } finally {
    await socket.close();
  }
}

/**
 * Starts the gateway: a new `VirtualSwitch`, the gateway stack on one of its ports, and its
 * DHCP, DNS, echo and HTTP services (see the module comment). Rejects (after cleaning up) when a
 * service cannot start.
 */
export async function startBrowserGateway(opts: BrowserGatewayOptions = {}): Promise<BrowserGateway> {
  const N = BROWSER_GATEWAY_NET;
  const report = opts.onError ?? ((): void => {});
  const sw = new VirtualSwitch();
  const rng = new CryptoRng();
  const stack = new Stack({ rng, name: 'gateway' });
  const port: SwitchPort = sw.port();
  const ifIndex = stack.addInterface(port, { name: 'eth0', mac: N.gatewayMac, ipv4: { address: N.gateway, prefixLen: N.prefixLen } });
  const runner = new StackRunner(stack);
  const backend = createUserspaceBackend(stack, runner, { name: 'userspace:gateway', rng, connectTimeoutMs: 5000 });
  const network = new Network(backend, { rng });
  const dhcp = new Dhcp4Server(stack, {
    ifIndex, pool: N.pool, routers: [N.gateway], dnsServers: [N.gateway], domainName: N.domain, leaseSeconds: N.leaseSeconds,
  });
  const closers: Array<() => unknown> = [];
  let closed = false;
  const shutdown = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    // Services in the reverse order of their start, then the sockets' layers, then the stack.
    for (const c of [...closers.reverse(), () => network.close(), () => backend.close()]) {
      try {
        await c();
      } catch (e) {
        report(e, 'close');
      }
    }
    dhcp.close();
    runner.close();
    stack.close();
    port.close();
  };
  try {
    const dns = await startDnsServer(network, {
      zones: [{ origin: N.domain, records: [{ name: 'gateway', type: 'A', data: N.gateway }] }], port: 53, host: N.gateway,
    });
    closers.push(() => dns.close());
    const echoListener: TcpServer = await network.listen({ port: N.echoPort, host: N.gateway });
    closers.push(() => echoListener.close());
    const echoCount = acceptLoop(echoListener, (socket) => {
      echoSession(socket).catch((e: unknown) => report(e, 'echo'));
    }, (e) => report(e, 'echo accept'));
    const server = http.createServer(opts.httpHandler ?? defaultGatewayHandler);
    server.on('clientError', (e, socket) => {
      report(e, 'http client');
      socket.destroy();
    });
    const httpListener: TcpServer = await network.listen({ port: N.httpPort, host: N.gateway });
    closers.push(() => httpListener.close());
    closers.push(() => server.closeAllConnections());
    const httpCount = acceptLoop(httpListener, (socket) => server.emit('connection', socket.toDuplex()), (e) => report(e, 'http accept'));
    return {
      switch: sw, stack, runner, backend, network, ifIndex, dhcp, dns, http: server,
      get echoConnections() {
        return echoCount();
      },
      get httpConnections() {
        return httpCount();
      },
      close: shutdown,
    };
  } catch (e) {
    await shutdown();
    throw e;
  }
}
