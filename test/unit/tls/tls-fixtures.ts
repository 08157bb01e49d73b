/**
 * Servers for the TLS tests, on two stacks with one interface:
 *
 * - `host`: the client `Network` runs on the host backend; servers are `node:tls` /
 *   `node:net` servers on 127.0.0.1 (name `localhost`).
 * - `userspace`: two userspace stacks on a virtual cable (10.0.0.1 client, 10.0.0.2
 *   server, real time); the client `Network` runs on stack A and resolves `broker.test`
 *   to 10.0.0.2 from its hosts map. Servers listen on stack B: a `node:tls` server that
 *   is never bound but gets each accepted connection as a Duplex
 *   (`server.emit('connection', socket.toDuplex())`: the TLS server side runs over our
 *   SocketDuplex with all of `tls.Server`'s behaviour), raw TCP handlers, and a
 *   forwarder to a host port (for `openssl s_server`).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { afterEach, beforeEach } from 'node:test';
import { createHostBackend } from '../../../src/backends/host/index.ts';
import { createUserspaceBackend } from '../../../src/backends/userspace/index.ts';
import type { SocketBackend } from '../../../src/backends/contract.ts';
import { XorShiftRng } from '../../../src/base/rand.ts';
import { createCable } from '../../../src/link/index.ts';
import { StackRunner } from '../../../src/runtime/stack-runner.ts';
import { Network } from '../../../src/socket/network.ts';
import type { TcpSocket } from '../../../src/socket/tcp-socket.ts';
import { Stack } from '../../../src/stack/stack.ts';

/** A TLS server of a fixture. */
export interface TlsServerHandle {
  readonly port: number;
  /** Server-side sockets of the connections that completed the handshake. */
  readonly secured: tls.TLSSocket[];
  /** `tlsClientError`s seen (handshakes the server refused or lost). */
  readonly clientErrors: Error[];
}

export interface Fixture {
  readonly kind: 'host' | 'userspace';
  /** The client side: connectTls goes through this network. */
  readonly client: Network;
  /** The client network's backend (for wrapping in a secure backend). */
  readonly clientBackend: SocketBackend;
  /** Server address literal (`127.0.0.1` / `10.0.0.2`). */
  readonly serverIp: string;
  /** A name of the server the client network resolves (`localhost` / `broker.test`). */
  readonly serverName: string;
  /** A TLS server; `onSecure` gets each server-side socket after its handshake. */
  tlsServer(options: tls.TlsOptions, onSecure?: (s: tls.TLSSocket) => void): Promise<TlsServerHandle>;
  /** A plain TCP server; `onConnection` gets each connection as a Duplex. */
  tcpServer(onConnection: (d: Duplex) => void): Promise<number>;
  /** A port on the server side that forwards each connection to 127.0.0.1:`hostPort`. */
  forward(hostPort: number): Promise<number>;
  /** Sockets still open in the client network (0 after a clean test). */
  readonly clientOpen: number;
  close(): Promise<void>;
}

/** Echo: every secure connection echoes what it reads. */
export const echo = (s: tls.TLSSocket): void => {
  s.pipe(s);
};

async function hostTlsServer(
  options: tls.TlsOptions,
  onSecure: (s: tls.TLSSocket) => void,
  listen: (server: net.Server) => Promise<number>,
): Promise<TlsServerHandle> {
  const handle = { port: 0, secured: [] as tls.TLSSocket[], clientErrors: [] as Error[] };
  const server = tls.createServer(options, (s) => {
    s.on('error', () => undefined);
    handle.secured.push(s);
    onSecure(s);
  });
  server.on('tlsClientError', (e) => handle.clientErrors.push(e));
  handle.port = await listen(server);
  return handle;
}

/** A `listen` for host servers that closes them (and their connections) in `closers`. */
function hostListener(closers: Array<() => Promise<void>>): (server: net.Server) => Promise<number> {
  const track = (server: net.Server): void => {
    const conns = new Set<net.Socket>();
    server.on('connection', (c: net.Socket) => {
      conns.add(c);
      c.on('close', () => conns.delete(c));
    });
    closers.push(() => new Promise((resolve) => {
      for (const c of conns) c.destroy();
      server.close(() => resolve());
    }));
  };
  return async (server: net.Server): Promise<number> => {
    track(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return (server.address() as net.AddressInfo).port;
  };
}

export async function hostFixture(): Promise<Fixture> {
  const backend = createHostBackend();
  const client = new Network(backend);
  const closers: Array<() => Promise<void>> = [];
  const listen = hostListener(closers);
  return {
    kind: 'host',
    client,
    clientBackend: backend,
    serverIp: '127.0.0.1',
    serverName: 'localhost',
    tlsServer(options, onSecure = echo) {
      return hostTlsServer(options, onSecure, listen);
    },
    async tcpServer(onConnection) {
      return listen(net.createServer((c) => {
        c.on('error', () => undefined);
        onConnection(c);
      }));
    },
    async forward(hostPort) {
      return hostPort;
    },
    get clientOpen() {
      return client.openCount;
    },
    async close() {
      await client.close();
      for (const c of closers.splice(0).reverse()) await c();
      await backend.close();
    },
  };
}

export async function userspaceFixture(): Promise<Fixture> {
  const [ea, eb] = createCable({ mtu: 1500 });
  const A = new Stack({ rng: new XorShiftRng(11), name: 'tls-a' });
  A.addInterface(ea, { ipv4: { address: '10.0.0.1', prefixLen: 24 } });
  const B = new Stack({ rng: new XorShiftRng(12), name: 'tls-b' });
  B.addInterface(eb, { ipv4: { address: '10.0.0.2', prefixLen: 24 } });
  const ra = new StackRunner(A);
  const rb = new StackRunner(B);
  const clientBackend = createUserspaceBackend(A, ra, { rng: new XorShiftRng(13), hosts: { 'broker.test': '10.0.0.2' } });
  const client = new Network(clientBackend);
  const server = new Network(createUserspaceBackend(B, rb, { rng: new XorShiftRng(14) }));
  const hostClosers: Array<() => Promise<void>> = [];
  const accepted = new Set<TcpSocket>();

  /** Accepts on a new port of stack B and hands each connection to `onSocket`. */
  const serve = async (onSocket: (s: TcpSocket) => void): Promise<number> => {
    const listener = await server.listen({ port: 0, host: '10.0.0.2' });
    void (async () => {
      for await (const s of listener) {
        accepted.add(s);
        onSocket(s);
      }
    })().catch(() => undefined);
    return listener.address.port;
  };

  const forward = (hostPort: number): Promise<number> => serve((s) => {
    const d = s.toDuplex();
    const h = net.connect(hostPort, '127.0.0.1');
    const drop = (): void => {
      d.destroy();
      h.destroy();
    };
    d.on('error', drop);
    h.on('error', drop);
    d.pipe(h).pipe(d);
    hostClosers.push(async () => drop());
  });

  return {
    kind: 'userspace',
    client,
    clientBackend,
    serverIp: '10.0.0.2',
    serverName: 'broker.test',
    async tlsServer(options, onSecure = echo) {
      const handle = { port: 0, secured: [] as tls.TLSSocket[], clientErrors: [] as Error[] };
      const tlsServer = tls.createServer(options, (s) => {
        s.on('error', () => undefined);
        handle.secured.push(s);
        onSecure(s);
      });
      tlsServer.on('tlsClientError', (e) => handle.clientErrors.push(e));
      handle.port = await serve((s) => {
        const d = s.toDuplex();
        d.on('error', () => undefined);
        tlsServer.emit('connection', d);
      });
      return handle;
    },
    async tcpServer(onConnection) {
      return serve((s) => {
        const d = s.toDuplex();
        d.on('error', () => undefined);
        onConnection(d);
      });
    },
    forward,
    get clientOpen() {
      return client.openCount;
    },
    async close() {
      await client.close();
      for (const c of hostClosers.splice(0).reverse()) await c();
      for (const s of accepted) s.destroy();
      await server.close();
      ra.close();
      rb.close();
      A.close();
      B.close();
    },
  };
}

/** Both fixtures, by name: run a suite once over each stack. */
export const FIXTURES: ReadonlyArray<readonly [string, () => Promise<Fixture>]> = [
  ['host', hostFixture],
  ['userspace', userspaceFixture],
];

/**
 * A fresh fixture per test of the calling `describe`: `use(fx)` receives it before each
 * test; after it, `cleanups` run in reverse, the fixture closes, and the test fails if
 * a client socket was left open.
 */
export function fixturePerTest(make: () => Promise<Fixture>, use: (fx: Fixture) => void, cleanups: Array<() => unknown>): void {
  let fx: Fixture | undefined;
  beforeEach(async () => {
    fx = await make();
    use(fx);
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    const open = fx?.clientOpen ?? 0;
    await fx?.close();
    assert.equal(open, 0, 'client sockets left open');
  });
}
