/**
 * IPv6 interface identifiers for address autoconfiguration (RFC 4862): stable,
 * semantically opaque identifiers per RFC 7217 (the default) and the RFC 5453 reserved
 * ranges they must avoid. Modified EUI-64 (a fixed identifier) and building an address
 * from a prefix and an identifier are in src/base/ip-address.ts (`modifiedEui64`,
 * `ipv6FromPrefixAndIid`, `ipv6LinkLocalFromIid`).
 *
 * RFC 7217 §5: RID = F(Prefix, Net_Iface, Network_ID, DAD_Counter, secret_key), the
 * interface identifier being the low 64 bits. F here is SipHash-2-4, a keyed PRF (the
 * RFC names SHA-1/SHA-256 as examples of a suitable F; SipHash keeps the core free of
 * `node:crypto` and is already the stack's PRF for RFC 6528 ISNs). The same secret key,
 * prefix and interface give the same address on every start (keep the key to keep the
 * address); another prefix (another network) gives an unrelated one, so hosts cannot be
 * tracked across networks by their identifier.
 */
import { SipHash24 } from './tcp/siphash.ts';

/** Inputs of one RFC 7217 identifier. */
export interface StableIidInput {
  /** The 128-bit secret key (RFC 7217 §5 `secret_key`). */
  readonly key: Uint8Array;
  /** The /64 prefix (its first 8 bytes are used); all zero except fe80:: for link-local. */
  readonly prefix: Uint8Array;
  /** A stable interface identity (`Net_Iface`): the interface name, or its MAC. */
  readonly netIface: Uint8Array;
  /** Optional network identity (`Network_ID`, e.g. an SSID). */
  readonly networkId?: Uint8Array;
  /** Incremented after each DAD conflict (`DAD_Counter`, RFC 7217 §6). */
  readonly dadCounter: number;
}

/**
 * Whether a 64-bit identifier is reserved (RFC 5453): all zeros (subnet-router anycast,
 * RFC 4291), the proxy mobile and reserved 0200:5eff:fe00:0000-0200:5eff:feff:ffff
 * range, and the subnet anycast range fdff:ffff:ffff:ff80-fdff:ffff:ffff:ffff (RFC 2526).
 */
export function isReservedIid(iid: Uint8Array): boolean {
  let zero = true;
  for (let i = 0; i < 8; i++) if (iid[i] !== 0) zero = false;
  if (zero) return true;
  if (iid[0] === 0x02 && iid[1] === 0x00 && iid[2] === 0x5e && iid[3] === 0xff && iid[4] === 0xfe) return true;
  if (iid[0] === 0xfd && iid[1] === 0xff && iid[2] === 0xff && iid[3] === 0xff && iid[4] === 0xff && iid[5] === 0xff && iid[6] === 0xff && (iid[7] as number) >= 0x80) return true;
  return false;
}

/**
 * The RFC 7217 identifier for `input`, skipping reserved values (RFC 7217 §5: on a
 * reserved result, the next DAD_Counter is used). Returns the identifier and the
 * counter that produced it.
 */
export function stableIid(input: StableIidInput): { iid: Uint8Array; dadCounter: number } {
  if (input.key.length !== 16) throw new RangeError('RFC 7217 secret key: 16 bytes');
  const h = new SipHash24(input.key);
  const net = input.networkId ?? new Uint8Array(0);
  const msg = new Uint8Array(8 + 1 + input.netIface.length + 1 + net.length + 4);
  msg.set(input.prefix.subarray(0, 8), 0);
  msg[8] = input.netIface.length & 0xff;
  msg.set(input.netIface, 9);
  let o = 9 + input.netIface.length;
  msg[o++] = net.length & 0xff;
  msg.set(net, o);
  o += net.length;
  for (let counter = input.dadCounter; ; counter++) {
    msg[o] = counter >>> 24;
    msg[o + 1] = (counter >>> 16) & 0xff;
    msg[o + 2] = (counter >>> 8) & 0xff;
    msg[o + 3] = counter & 0xff;
    const [hi, lo] = h.hash(msg);
    const iid = Uint8Array.from([hi >>> 24, (hi >>> 16) & 0xff, (hi >>> 8) & 0xff, hi & 0xff, lo >>> 24, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff]);
    if (!isReservedIid(iid)) return { iid, dadCounter: counter };
  }
}
