/**
 * Stateless DHCPv6 on one interface of a `Stack` (RFC 8415 §18.2.6): the pure
 * `Dhcp6InfoClient` wired to the stack as a service. It listens on UDP port 546 of the
 * interface (an IPv6-only socket tied to it), sends the client's Information-requests
 * from the link-local address to ff02::1:2 port 547, and starts an exchange when a
 * Router Advertisement sets the O (or M) flag (`Ipv6Event` `'other-config'`), or at once
 * with `start: 'now'`. DNS servers and search domains from the Reply are reported by
 * `on(...)` after the poll (the owner feeds them to its resolver, as RDNSS servers).
 */
import { DHCPV6_ALL_RELAY_AGENTS_AND_SERVERS, DHCPV6_CLIENT_PORT, DHCPV6_SERVER_PORT, duidLl, type Dhcpv6Duid } from '../../wire/dhcpv6.ts';
import { PostPollEvents } from '../post-poll-events.ts';
import type { Stack, StackService } from '../stack.ts';
import type { UdpPcb } from '../udp.ts';
import { Dhcp6InfoClient, type Dhcp6InfoClientOptions } from './dhcp6-info-client.ts';

export interface Dhcp6StatelessOptions {
  readonly ifIndex: number;
  /** `'other-flag'` (default): when an RA asks for it; `'now'`: at once as well. */
  readonly start?: 'other-flag' | 'now';
  /** Client identifier (default DUID-LL from the interface MAC, RFC 8415 §11.4). */
  readonly duid?: Dhcpv6Duid;
  /** More options to request (ORO). */
  readonly requestOptions?: Dhcp6InfoClientOptions['requestOptions'];
}

/** What a completed exchange configured. */
export interface Dhcp6StatelessEvent {
  readonly dnsServers: Uint8Array[];
  readonly domainSearch: string[];
}

export class Dhcp6Stateless implements StackService {
  readonly client: Dhcp6InfoClient;
  private readonly stack: Stack;
  private readonly pcb: UdpPcb;
  private readonly events: PostPollEvents<Dhcp6StatelessEvent>;
  private readonly rx = new Uint8Array(2048);
  private readonly from: { address: number; port: number; address6?: Uint8Array | undefined } = { address: 0, port: 0 };
  private pendingStart: boolean;
  private version: number;
  private readonly removeService: () => void;
  private readonly unlisten: () => void;
  private closed = false;

  constructor(stack: Stack, opts: Dhcp6StatelessOptions) {
    this.stack = stack;
    const iface = stack.interface(opts.ifIndex);
    if (iface === undefined) throw new RangeError(`no interface ${opts.ifIndex}`);
    const duid = opts.duid ?? (iface.medium === 'ethernet' ? duidLl(iface.mac) : undefined);
    this.client = new Dhcp6InfoClient({ rng: stack.rng, duid, ...(opts.requestOptions !== undefined ? { requestOptions: opts.requestOptions } : {}) });
    this.version = this.client.configVersion;
    const pcb = stack.udpOpen(6);
    if (typeof pcb === 'number') throw new RangeError(`DHCPv6: no UDP socket (${pcb})`);
    pcb.v6Only = true;
    const r = stack.udpBindToInterface(pcb, opts.ifIndex) || stack.udpBind(pcb, new Uint8Array(16), DHCPV6_CLIENT_PORT);
    if (r !== 0) {
      stack.udpClose(pcb);
      throw new RangeError(`DHCPv6: cannot bind UDP port ${DHCPV6_CLIENT_PORT} (${r})`);
    }
    this.pcb = pcb;
    this.events = new PostPollEvents((t) => stack.markChanged(t));
    this.pendingStart = opts.start === 'now';
    this.unlisten = stack.onIpv6Event((e) => {
      if (e.kind === 'other-config' && e.ifIndex === opts.ifIndex && !this.closed) {
        this.pendingStart = true;
        stack.requestPoll();
      }
    });
    this.removeService = stack.addService(this);
  }

  /** Listens to configuration changes (after the poll). */
  on(listener: (e: Dhcp6StatelessEvent) => void): () => void {
    return this.events.on(listener);
  }

  get dnsServers(): readonly Uint8Array[] {
    return this.client.dnsServers;
  }

  pollAt(): number | undefined {
    if (this.pendingStart) return 0;
    return this.client.pollAt();
  }

  poll(now: number): void {
    if (this.closed) return;
    if (this.pendingStart) {
      this.pendingStart = false;
      if (this.client.state === 'STOPPED') this.client.start(now);
      else this.client.restart(now);
    }
    for (;;) {
      const n = this.stack.udpRecvFrom(this.pcb, this.rx, this.rx.length, this.from);
      if (n < 0) break;
      const src = this.from.address6;
      if (this.from.port !== DHCPV6_SERVER_PORT || src === undefined) continue;
      this.client.input(now, this.rx.subarray(0, n), src);
    }
    const at = this.client.pollAt();
    if (at !== undefined && at <= now) {
      for (const msg of this.client.poll(now)) this.stack.udpSendTo(now, this.pcb, msg, msg.length, DHCPV6_ALL_RELAY_AGENTS_AND_SERVERS, DHCPV6_SERVER_PORT);
    }
    if (this.client.configVersion !== this.version) {
      this.version = this.client.configVersion;
      this.events.emit({ dnsServers: this.client.dnsServers.map((s) => s.slice()), domainSearch: [...this.client.domainSearch] });
    }
  }

  /** Stops the client and releases the socket. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.stop();
    this.unlisten();
    this.removeService();
    this.stack.udpClose(this.pcb);
  }
}
