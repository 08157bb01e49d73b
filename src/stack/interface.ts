/**
 * One network interface of a `Stack`: an attached `Device`, its link-layer identity
 * (MAC on Ethernet), IPv4 address and prefix, MTU, checksum-offload flag, up/down
 * state, and its one reusable transmit frame buffer.
 *
 * Created and changed through the `Stack` (`addInterface`, `setInterfaceUp`,
 * `setIpv4`); the fields are public for reading (diagnostics, tests).
 */
import type { Device } from './device.ts';
import type { Route } from './routes.ts';
import { prefixMask } from './ipv4-addr.ts';
import type { Timed } from './timer-heap.ts';
import type { LowpanAdaptation } from './lowpan/adaptation.ts';

/** Ethernet II header length. */
export const ETH_HLEN = 14;

export class NetInterface implements Timed {
  readonly index: number;
  readonly name: string;
  readonly device: Device;
  readonly medium: 'ethernet' | 'ip' | 'ieee802154';
  /** MAC-48 on Ethernet; the EUI-64 (extended address) on IEEE 802.15.4; empty on an `'ip'` medium. */
  readonly mac: Uint8Array;
  /** The 6LoWPAN adaptation layer of an `'ieee802154'` interface. */
  lowpan: LowpanAdaptation | undefined = undefined;
  /** Largest IP packet sent (68 ..= the device's MTU; `Stack.setInterfaceMtu` changes it, e.g. DHCP option 26). */
  mtu: number;
  /** Link-layer header bytes in front of each IP packet (14 on Ethernet, 0 on `'ip'`). */
  readonly linkHeaderLen: number;
  /** The link computes and verifies checksums: the stack skips transport checksums on send and all verification on receive. */
  readonly checksumOffload: boolean;
  /** IPv4 address (uint32; 0 = none yet), prefix length, netmask and directed broadcast. */
  address = 0;
  prefixLen = 0;
  netmask = 0;
  /** Directed broadcast address, or 0 when the prefix has none (/31, /32, no address). */
  broadcast = 0;
  up = true;
  /**
   * The one transmit frame buffer: link header + up to `mtu` bytes of IP packet. Every
   * frame the stack sends on this interface is built here and handed to
   * `device.transmit`, which copies it. Replaced (larger) when the MTU is raised.
   */
  tx: Uint8Array;
  /** @internal Routes this interface installed (connected subnet, default gateway). */
  routes: Route[] = [];
  /** @internal Gratuitous ARP announcements still to send (RFC 5227 §2.3: two, 2 s apart). */
  announcements = 0;
  /** @internal TimerHeap slot: next announcement. */
  deadline: number | undefined = undefined;
  /** @internal Unsubscribes the stack from the device's wake-ups. */
  unsubscribe: (() => void) | undefined = undefined;

  constructor(index: number, name: string, device: Device, mac: Uint8Array, mtu: number, checksumOffload: boolean) {
    this.index = index;
    this.name = name;
    this.device = device;
    this.medium = device.caps.medium;
    this.mac = this.medium === 'ip' ? new Uint8Array(0) : mac;
    this.mtu = mtu;
    this.linkHeaderLen = this.medium === 'ethernet' ? ETH_HLEN : 0;
    this.checksumOffload = checksumOffload;
    this.tx = new Uint8Array(this.linkHeaderLen + mtu);
    if (this.medium === 'ethernet') this.tx.set(this.mac, 6);
  }

  /** @internal Sets the MTU (the caller checks 68 ..= device MTU); grows the frame buffer when needed. */
  setMtu(mtu: number): void {
    this.mtu = mtu;
    if (this.linkHeaderLen + mtu > this.tx.length) {
      this.tx = new Uint8Array(this.linkHeaderLen + mtu);
      if (this.medium === 'ethernet') this.tx.set(this.mac, 6);
    }
  }

  /** @internal Sets the address fields (0 clears). */
  assign(address: number, prefixLen: number): void {
    this.address = address >>> 0;
    this.prefixLen = address === 0 ? 0 : prefixLen;
    this.netmask = address === 0 ? 0 : prefixMask(prefixLen);
    this.broadcast = address === 0 || prefixLen >= 31 ? 0 : (address | ~this.netmask) >>> 0;
  }

  /** True when `dst` is on this interface's subnet. */
  onLink(dst: number): boolean {
    return this.address !== 0 && ((dst & this.netmask) >>> 0) === ((this.address & this.netmask) >>> 0);
  }
}
