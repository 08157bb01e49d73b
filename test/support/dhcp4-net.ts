/**
 * DHCP test networks on virtual time: a LAN (learning switch) with a server host at
 * 192.168.7.1/24 running `Dhcp4Server`, client hosts with unaddressed interfaces, and a
 * scripted server for replies our server would never send. Deterministic (seeded RNGs).
 */
import assert from 'node:assert/strict';
import { XorShiftRng } from '../../src/base/rand.ts';
import { VirtualScheduler } from '../../src/base/time.ts';
import { VirtualSwitch, type Link } from '../../src/link/index.ts';
import { StackRunner } from '../../src/runtime/stack-runner.ts';
import { Dhcp4Client, type Dhcp4ClientEvent, type Dhcp4ClientOptions } from '../../src/stack/dhcp/dhcp4-client.ts';
import { Dhcp4Server, type Dhcp4ServerOptions } from '../../src/stack/dhcp/dhcp4-server.ts';
import { Stack, toIpv4 } from '../../src/stack/stack.ts';
import type { UdpPcb } from '../../src/stack/udp.ts';
import { encodeDhcpv4, parseDhcpv4, type Dhcpv4Repr } from '../../src/wire/dhcpv4.ts';
import { isFault } from '../../src/wire/fault.ts';
import { openUdp, Tap } from './stack-net.ts';

export const SERVER_IP = toIpv4('192.168.7.1');
export const ip = toIpv4;

export interface Node {
  readonly stack: Stack;
  readonly runner: StackRunner;
  readonly ifIndex: number;
  readonly mac: Uint8Array;
  /** Frames sent and received (when created with `tap`). */
  readonly tap: Tap | undefined;
}

export interface Lan {
  readonly sched: VirtualScheduler;
  readonly sw: VirtualSwitch;
  readonly server: Node;
  /** Undefined with `server: false`. */
  readonly dhcp: Dhcp4Server | undefined;
}

export const SERVER_DEFAULTS: Dhcp4ServerOptions = {
  ifIndex: 0,
  pool: { start: '192.168.7.100', end: '192.168.7.150' },
  routers: ['192.168.7.1'],
  dnsServers: ['192.168.7.1', '9.9.9.9'],
  domainName: 'lan.test',
  leaseSeconds: 3600,
  mtu: 1400,
};

function node(sched: VirtualScheduler, link: Link, seed: number, name: string, opts: { tap?: boolean; address?: string; mac?: string } = {}): Node {
  const tap = opts.tap === true ? new Tap(link) : undefined;
  const stack = new Stack({ rng: new XorShiftRng(seed), name });
  const ifIndex = stack.addInterface(tap ?? link, {
    ...(opts.address !== undefined ? { ipv4: { address: opts.address, prefixLen: 24 } } : {}),
    ...(opts.mac !== undefined ? { mac: opts.mac } : {}),
  });
  const runner = new StackRunner(stack, { scheduler: sched });
  return { stack, runner, ifIndex, mac: stack.interface(ifIndex)?.mac as Uint8Array, tap };
}

/**
 * A LAN with our DHCP server on 192.168.7.1 (options merged over `SERVER_DEFAULTS`);
 * `server: false`: no DHCP server, and the `server` host moves to 192.168.7.254 so a
 * `ScriptedServer` can take 192.168.7.1.
 */
export function dhcpLan(opts: { server?: Partial<Dhcp4ServerOptions> | false; serverTap?: boolean } = {}): Lan {
  const sched = new VirtualScheduler();
  const sw = new VirtualSwitch();
  const server = node(sched, sw.port(), 100, 'server', { address: opts.server === false ? '192.168.7.254' : '192.168.7.1', tap: opts.serverTap === true });
  const dhcp = opts.server === false ? undefined : new Dhcp4Server(server.stack, { ...SERVER_DEFAULTS, ...opts.server, ifIndex: server.ifIndex });
  return { sched, sw, server, dhcp };
}

/** A host on the LAN with an unaddressed interface (`wrap`: middleware around its switch port, e.g. a fault injector). */
export function addClientHost(lan: Lan, seed: number, opts: { tap?: boolean; mac?: string; address?: string; wrap?: (port: Link) => Link } = {}): Node {
  const port = lan.sw.port();
  return node(lan.sched, opts.wrap?.(port) ?? port, seed, `client${seed}`, opts);
}

/** Starts a DHCP client on `host`, recording its events. */
export function startClient(lan: Lan, host: Node, opts: Partial<Dhcp4ClientOptions> = {}): { client: Dhcp4Client; events: Dhcp4ClientEvent[] } {
  const events: Dhcp4ClientEvent[] = [];
  const client = new Dhcp4Client(host.stack, { ifIndex: host.ifIndex, ...opts, onEvent: (e) => events.push(e) });
  client.start(lan.sched.now());
  return { client, events };
}

/** Event types without the 'state' events. */
export function kinds(events: readonly Dhcp4ClientEvent[]): string[] {
  return events.filter((e) => e.type !== 'state').map((e) => e.type);
}

/** The 'state' transitions as `FROM>TO`. */
export function transitions(events: readonly Dhcp4ClientEvent[]): string[] {
  return events.flatMap((e) => (e.type === 'state' ? [`${e.from}>${e.to}`] : []));
}

/** Ethernet/IPv4/UDP frames among `frames` carrying DHCP, decoded, with addressing. */
export function dhcpFrames(frames: readonly Uint8Array[]): { msg: Dhcpv4Repr; ethDst: string; src: number; dst: number; srcPort: number; dstPort: number }[] {
  const out: { msg: Dhcpv4Repr; ethDst: string; src: number; dst: number; srcPort: number; dstPort: number }[] = [];
  for (const f of frames) {
    if (f.length < 42 || f[12] !== 0x08 || f[13] !== 0x00 || f[23] !== 17) continue;
    const ihl = ((f[14] as number) & 0x0f) * 4;
    const u = 14 + ihl;
    const srcPort = ((f[u] as number) << 8) | (f[u + 1] as number);
    const dstPort = ((f[u + 2] as number) << 8) | (f[u + 3] as number);
    if (![67, 68].includes(srcPort) && ![67, 68].includes(dstPort)) continue;
    const rd32 = (o: number): number => (((f[o] as number) << 24) | ((f[o + 1] as number) << 16) | ((f[o + 2] as number) << 8) | (f[o + 3] as number)) >>> 0;
    const msg = parseDhcpv4(f.subarray(u + 8));
    if (isFault(msg)) continue;
    out.push({ msg, ethDst: [...f.subarray(0, 6)].map((x) => x.toString(16).padStart(2, '0')).join(':'), src: rd32(26), dst: rd32(30), srcPort, dstPort });
  }
  return out;
}

/**
 * A scripted server on the LAN at `address`: every DHCP message a client sends to port 67
 * goes to `answer`, whose replies are broadcast to port 68 (or sent to `to`).
 */
export class ScriptedServer {
  readonly node: Node;
  readonly pcb: UdpPcb;
  readonly seen: Dhcpv4Repr[] = [];
  constructor(
    lan: Lan,
    address: string,
    seed: number,
    answer: (m: Dhcpv4Repr) => (Dhcpv4Repr | { msg: Dhcpv4Repr; to: number } | Uint8Array)[] | undefined,
  ) {
    this.node = node(lan.sched, lan.sw.port(), seed, `scripted${seed}`, { address });
    const pcb = openUdp(this.node.stack, 67);
    this.pcb = pcb;
    const buf = new Uint8Array(4096);
    pcb.onChange = () => {
      for (let n = this.node.stack.udpRecvFrom(pcb, buf); n >= 0; n = this.node.stack.udpRecvFrom(pcb, buf)) {
        const m = parseDhcpv4(buf.subarray(0, n));
        assert.ok(!isFault(m), `the client sent a malformed message: ${String(m)}`);
        this.seen.push(m);
        for (const r of answer(m) ?? []) {
          const to = r instanceof Uint8Array || !('to' in r) ? 0xffffffff : r.to;
          const bytes = r instanceof Uint8Array ? r : encodeDhcpv4('to' in r ? r.msg : r);
          this.node.stack.udpSendTo(lan.sched.now(), pcb, bytes, bytes.length, to, 68);
        }
      }
    };
  }
}

/** A BOOTREPLY answering `m` (same xid, chaddr, flags) with the given fields and options. */
export function replyTo(m: Dhcpv4Repr, type: number, yiaddr: number, options: Dhcpv4Repr['options'] = {}): Dhcpv4Repr {
  return {
    op: 2, htype: 1, chaddr: m.chaddr, hops: 0, xid: m.xid, secs: 0, flags: m.flags, ciaddr: 0, yiaddr, siaddr: 0, giaddr: 0,
    sname: '', file: '', options: { messageType: type, ...options },
  };
}
