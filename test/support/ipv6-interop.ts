/**
 * Helpers of the IPv6 interop files (test/interop/ipv6-*.test.ts): a TAP whose kernel
 * side runs IPv6 (`ipv6TapHost`), the stack's IPv6 events with their times, an ICMPv6
 * counter on the stack's link (what the stack sent and got: DAD probes, RAs, ...), the
 * kernel's addresses, and waiting for a condition with a bound.
 */
import type { Link } from '../../src/link/link.ts';
import { formatIPv6, ipv6FromPrefixAndIid, parseIPv6 } from '../../src/base/ip-address.ts';
import { stableIid } from '../../src/stack/ipv6-iid.ts';
import type { Ipv6Event, Ipv6InterfaceOptions } from '../../src/stack/ipv6-layer.ts';
import type { PingResult } from '../../src/stack/stack.ts';
import { run, sh, tapHost, type TapHost, type TapHostOptions } from './interop.ts';

/** ICMPv6 messages per type, both directions, counted on the stack's link (IPv6 header straight followed by ICMPv6). */
export class Icmp6Counter implements Link {
  readonly caps: Link['caps'];
  /** Messages received by the stack, by type. */
  readonly rx = new Map<number, number>();
  /** Messages sent by the stack, by type. */
  readonly tx = new Map<number, number>();
  /** Neighbor Solicitations the stack sent from :: (DAD probes, RFC 4862 §5.4.2), target text. */
  readonly dadProbes: string[] = [];
  /** Source addresses of every IPv6 packet the stack sent, with their counts. */
  readonly txSources = new Map<string, number>();
  private readonly inner: Link;

  constructor(inner: Link) {
    this.inner = inner;
    this.caps = inner.caps;
  }

  private static type(frame: Uint8Array): number {
    if (frame.length < 14 + 40 + 4 || frame[12] !== 0x86 || frame[13] !== 0xdd || frame[14 + 6] !== 58) return -1;
    return frame[54] as number;
  }

  receive(now: number): Uint8Array | undefined {
    const f = this.inner.receive(now);
    if (f !== undefined) {
      const t = Icmp6Counter.type(f);
      if (t >= 0) this.rx.set(t, (this.rx.get(t) ?? 0) + 1);
    }
    return f;
  }

  transmit(now: number, frame: Uint8Array): boolean {
    if (frame.length >= 54 && frame[12] === 0x86 && frame[13] === 0xdd) {
      const src = formatIPv6(frame.subarray(22, 38));
      this.txSources.set(src, (this.txSources.get(src) ?? 0) + 1);
    }
    const t = Icmp6Counter.type(frame);
    if (t >= 0) {
      this.tx.set(t, (this.tx.get(t) ?? 0) + 1);
      if (t === 135 && frame.length >= 78 && frame.subarray(22, 38).every((b) => b === 0)) this.dadProbes.push(formatIPv6(frame.subarray(62, 78)));
    }
    return this.inner.transmit(now, frame);
  }

  onReadable(wake: () => void): () => void {
    return this.inner.onReadable(wake);
  }

  close(): void {
    this.inner.close();
  }
}

export interface Ipv6TapHost extends TapHost {
  readonly counter: Icmp6Counter;
  /** The stack's IPv6 events with their time (ms since `enableStack`). */
  readonly events: { readonly at: number; readonly e: Ipv6Event }[];
  /** When IPv6 was enabled on the stack (`Date.now()`), undefined before `enableStack`. */
  enabledAt: number | undefined;
  /** Enables IPv6 on the stack's interface. */
  enableStack(opts?: Ipv6InterfaceOptions): void;
  /** The stack's MAC (aa:bb:...). */
  readonly mac: string;
}

/**
 * A TAP with IPv6 on the kernel's side (its link-local address and `addresses`), and
 * `net.ipv6.conf.all.forwarding` set in the namespace when `router` (radvd and dnsmasq's
 * RA service insist on it). Call `enableStack` to start IPv6 on the stack.
 */
export function ipv6TapHost(opts: TapHostOptions & { readonly router?: boolean; readonly addresses?: readonly string[] }): Ipv6TapHost {
  if (opts.router === true) sh('sysctl', ['-q', '-w', 'net.ipv6.conf.all.forwarding=1']);
  let counter: Icmp6Counter | undefined;
  const h = tapHost({
    ...opts,
    kernelIpv6: { addresses: opts.addresses ?? [], sysctl: { accept_ra: 0, ...opts.kernelIpv6?.sysctl } },
    wrap: (l) => {
      counter = new Icmp6Counter(opts.wrap !== undefined ? opts.wrap(l) : l);
      return counter;
    },
  });
  const events: { at: number; e: Ipv6Event }[] = [];
  h.stack.onIpv6Event((e) => events.push({ at: Date.now() - (host.enabledAt ?? 0), e }));
  const mac = [...(h.stack.interface(h.ifIndex)?.mac ?? [])].map((b) => b.toString(16).padStart(2, '0')).join(':');
  const host: Ipv6TapHost = Object.assign(h, {
    counter: counter as Icmp6Counter,
    events,
    enabledAt: undefined as number | undefined,
    mac,
    enableStack(o: Ipv6InterfaceOptions = {}): void {
      host.enabledAt = Date.now();
      h.stack.enableIpv6(h.ifIndex, o, h.runner.now());
    },
  });
  return host;
}

/** Waits until `pred()` holds (checked every 20 ms), failing with `what` after `timeoutMs`. */
export async function waitUntil<T>(what: string, timeoutMs: number, pred: () => T | undefined | false): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = pred();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The kernel's IPv6 addresses on `ifname`: `{ address, prefixLen, flags }` (flags: tentative, dadfailed, ...). */
export function kernelAddresses(ifname: string): { address: string; prefixLen: number; scope: string; flags: string[] }[] {
  const out = sh('ip', ['-6', '-o', 'addr', 'show', 'dev', ifname]);
  const list: { address: string; prefixLen: number; scope: string; flags: string[] }[] = [];
  for (const line of out.split('\n')) {
    const m = /inet6 ([0-9a-f:]+)\/(\d+) scope (\w+)((?: [a-z_-]+)*)/.exec(line);
    if (m === null) continue;
    list.push({ address: m[1] as string, prefixLen: Number(m[2]), scope: m[3] as string, flags: (m[4] ?? '').trim().split(' ').filter(Boolean) });
  }
  return list;
}

/** Waits for the kernel's DAD of `address` on `ifname` to end; returns its flags (`dadfailed` when the address is in use). */
export async function kernelDadResult(ifname: string, address: string, timeoutMs = 5000): Promise<string[]> {
  return waitUntil(`the kernel's DAD of ${address}`, timeoutMs, () => {
    const a = kernelAddresses(ifname).find((x) => x.address === address);
    return a !== undefined && (a.flags.includes('dadfailed') || !a.flags.includes('tentative')) ? a.flags : undefined;
  });
}

/** Waits for the kernel's link-local address on `ifname` to finish DAD; returns it. */
export async function kernelLinkLocal(ifname: string, timeoutMs = 5000): Promise<string> {
  return waitUntil(`the kernel's link-local address on ${ifname}`, timeoutMs, () => {
    const a = kernelAddresses(ifname).find((x) => x.scope === 'link');
    return a !== undefined && !a.flags.includes('tentative') ? a.address : undefined;
  });
}

/** The stack's SLAAC address for a /64 `prefix` per RFC 7217 with `key`, after `dadCounter` conflicts (what the stack will form). */
export function predictSlaac(prefix: string, key: Uint8Array, mac: string, dadCounter = 0): string {
  const p = parseIPv6(prefix) as Uint8Array;
  const macBytes = Uint8Array.from(mac.split(':').map((x) => parseInt(x, 16)));
  const { iid } = stableIid({ key, prefix: p, netIface: macBytes, dadCounter });
  return formatIPv6(ipv6FromPrefixAndIid(p, iid) as Uint8Array);
}

/** One ping from the stack. */
export function stackPing6(h: TapHost, dst: string, size: number, timeoutMs = 2000): Promise<PingResult> {
  return new Promise((resolve, reject) => {
    const r = h.stack.ping(h.runner.now(), dst, { size, timeoutMs, ifIndex: h.ifIndex }, resolve);
    if (r < 0) reject(new Error(`ping ${dst} refused: ${r}`));
  });
}

/** The kernel pings `dst` (`%ifname` added to link-local addresses) `count` times; returns ping's output and the average RTT. */
export async function kernelPing6(ifname: string, dst: string, size: number, count = 3): Promise<{ code: number | null; out: string; avgMs: number }> {
  const target = dst.startsWith('fe80:') ? `${dst}%${ifname}` : dst;
  const r = await run('ping', ['-6', '-c', String(count), '-i', '0.2', '-W', '2', '-s', String(size), target], { timeoutMs: 20_000 });
  const avg = /= [\d.]+\/([\d.]+)\//.exec(r.out);
  return { ...r, avgMs: avg !== null ? Number(avg[1]) : NaN };
}
