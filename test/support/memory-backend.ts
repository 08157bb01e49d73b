import type { Af, BackendCaps, CoreSocket, Endpoint, RecvInfo, SockType, SocketBackend } from '../../src/backends/contract.ts';
import {
  IOT_SOCKET_EADDRINUSE, IOT_SOCKET_EAGAIN, IOT_SOCKET_ECONNREFUSED, IOT_SOCKET_EHOSTNOTFOUND, IOT_SOCKET_EINVAL, IOT_SOCKET_ENOTCONN,
} from '../../src/base/iot-constants.ts';

/**
 * A network-free backend for tests of the layers above the contract: sockets bind
 * and listen in a local table, stream connects are refused at once, datagrams sent
 * vanish, nothing is ever received. No I/O, no timers: safe to drive with random
 * arguments (no address reaches a real network).
 */
export class MemoryBackend implements SocketBackend {
  readonly name = 'memory';
  readonly caps: BackendCaps = {
    ipv4: true, ipv6: true, tcp: true, udp: true, listen: true,
    maxSockets: 64, maxDatagram: 1472, connectTimeoutMs: 1000,
  };
  readonly ports = new Set<string>();
  created = 0;
  closed = 0;

  createSocket(af: Af, type: SockType): CoreSocket {
    this.created++;
    return new MemorySocket(this, af, type);
  }

  async lookup(): Promise<number> {
    return IOT_SOCKET_EHOSTNOTFOUND;
  }
}

class MemorySocket implements CoreSocket {
  readonly af: Af;
  readonly type: SockType;
  private readonly backend: MemoryBackend;
  private local: Endpoint | undefined;
  private dest: Endpoint | undefined;
  private key: string | undefined;

  constructor(backend: MemoryBackend, af: Af, type: SockType) {
    this.backend = backend;
    this.af = af;
    this.type = type;
  }
  onChange(): void {}
  bind(address: Uint8Array, port: number): number {
    const key = `${this.type}/${this.af}/${port}`;
    if (this.backend.ports.has(key)) return IOT_SOCKET_EADDRINUSE;
    this.backend.ports.add(key);
    this.key = key;
    this.local = { address: address.slice(), port };
    return 0;
  }
  listen(): number {
    return 0;
  }
  accept(): number {
    return IOT_SOCKET_EAGAIN;
  }
  connect(address: Uint8Array, port: number): number {
    if (this.type === 1) return IOT_SOCKET_ECONNREFUSED;
    this.dest = address.every((b) => b === 0) ? undefined : { address: address.slice(), port };
    this.local ??= { address: new Uint8Array(this.af === 1 ? 4 : 16), port: 50000 };
    return 0;
  }
  connectResult(): number {
    return IOT_SOCKET_ECONNREFUSED;
  }
  recv(_buf: Uint8Array, _len: number, _from?: RecvInfo): number {
    return this.type === 1 ? IOT_SOCKET_ENOTCONN : IOT_SOCKET_EAGAIN;
  }
  send(_buf: Uint8Array, len: number, to?: Endpoint): number {
    if (this.type === 1) return IOT_SOCKET_ENOTCONN;
    if (len === 0) return 0;
    if (len > this.backend.caps.maxDatagram) return IOT_SOCKET_EINVAL;
    if (to === undefined && this.dest === undefined) return IOT_SOCKET_ENOTCONN;
    this.local ??= { address: new Uint8Array(this.af === 1 ? 4 : 16), port: 50001 };
    return len;
  }
  shutdown(): number {
    return 0;
  }
  peerClosed(): boolean {
    return false; // stream sockets never connect here
  }
  localEndpoint(): Endpoint | undefined {
    return this.local;
  }
  remoteEndpoint(): Endpoint | undefined {
    return this.dest;
  }
  setKeepAlive(): number {
    return 0;
  }
  close(): number {
    if (this.key !== undefined) this.backend.ports.delete(this.key);
    this.backend.closed++;
    return 0;
  }
}
