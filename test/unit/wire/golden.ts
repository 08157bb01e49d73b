/**
 * Golden frames for the wire codec tests, with provenance.
 *
 * Generated with Debian's scapy (python3-scapy 2.5.0+dfsg-2, `/usr/bin/python3`), each
 * frame printed as `bytes(pkt).hex()`, and written with `wrpcap` (LINKTYPE_ETHERNET = 1).
 * Checked independently with tshark 4.0.17:
 *   tshark -r vec.pcap -V -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE
 * which reports every IPv4 header checksum `[correct]`/Good, every UDP and ICMP checksum
 * `[correct]`/Good (the UDP zero checksum as "zero-value ignored"), no malformed-packet
 * or bad-length expert info, dissects the Record Route option, and reassembles the two
 * fragments into a UDP datagram whose checksum is correct. Both tools agree with every
 * byte below. The script (scapy):
 *
 *   A='02:00:00:00:00:01'; B='00:11:22:33:44:55'; S='192.0.2.1'; D='198.51.100.7'
 *   orig = IP(src=S, dst=D, id=0x1234, flags='DF', ttl=64)/UDP(sport=49152, dport=40000)/b'hello'
 *   frags = fragment(IP(src=S, dst=D, id=0xabcd, ttl=64)/UDP(sport=1234, dport=5678)/(b'\x11'*16), fragsize=16)
 *   ETH_IPV4_UDP               = Ether(dst=B, src=A)/orig
 *   ETH_ARP_REQUEST            = Ether(dst='ff:ff:ff:ff:ff:ff', src=A)/ARP(op=1, hwsrc=A, psrc=S,
 *                                  hwdst='00:00:00:00:00:00', pdst='192.0.2.254')
 *   ETH_ARP_REPLY_PADDED       = Ether(dst=A, src=B)/ARP(op=2, hwsrc=B, psrc='192.0.2.254', hwdst=A, pdst=S)
 *                                  /Padding(load=b'\x00'*18)
 *   ETH_IPV4_OPTIONS_ICMP_ECHO = Ether(dst=B, src=A)/IP(src=S, dst=D, id=7, ttl=1, tos=0xb8,
 *                                  options=[IPOption_NOP(), IPOption_RR(routers=['192.0.2.9'])])
 *                                  /ICMP(type=8, id=0x4242, seq=7)/b'abcdefgh'
 *   ETH_ICMP_ECHO_REQUEST      = Ether(dst=B, src=A)/IP(src=S, dst=D, id=1, ttl=64)/ICMP(type=8, id=0x4242, seq=7)/b'abcdefgh'
 *   ETH_ICMP_PORT_UNREACHABLE  = Ether(dst=A, src=B)/IP(src=D, dst=S, id=2, ttl=64)/ICMP(type=3, code=3)/bytes(orig)[:28]
 *   ETH_ICMP_FRAG_NEEDED       = Ether(dst=A, src=B)/IP(src=D, dst=S, id=3, ttl=64)/ICMP(type=3, code=4, nexthopmtu=1400)
 *                                  /bytes(orig)[:28]
 *   ETH_ICMP_TIME_EXCEEDED     = Ether(dst=A, src=B)/IP(src='203.0.113.1', dst=S, id=4, ttl=255)/ICMP(type=11, code=0)
 *                                  /bytes(orig)[:28]
 *   ETH_IPV4_UDP_NO_CHECKSUM   = Ether(dst=B, src=A)/IP(src=S, dst=D, id=5, ttl=64)/UDP(sport=1234, dport=5678, chksum=0)/b'xyz'
 *   ETH_IPV4_FRAGMENT_FIRST    = Ether(dst=B, src=A)/frags[0]
 *   ETH_IPV4_FRAGMENT_LAST     = Ether(dst=B, src=A)/frags[1]
 *   ETH_UDP_CHECKSUM_FFFF: p = IP(src=S, dst=D, id=6, ttl=64)/UDP(sport=4000, dport=4001)/b'\x00\x00';
 *                          c = IP(bytes(p))[UDP].chksum;
 *                          Ether(dst=B, src=A)/IP(src=S, dst=D, id=6, ttl=64)/UDP(sport=4000, dport=4001)/bytes([c>>8, c&0xff])
 *                          (payload chosen so the computed checksum is 0: scapy sends 0xffff,
 *                          tshark: "Checksum: 0xffff [correct]")
 *
 * The RFC 1071 vector comes from RFC 1071 §3 ("Numerical Examples") itself.
 */
import { fromHex } from '../../../src/wire/bytes.ts';

function hex(text: string): Uint8Array {
  const b = fromHex(text);
  if (b === undefined) throw new Error(`bad hex fixture: ${text.slice(0, 40)}`);
  return b;
}

/** RFC 1071 §3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum (ones' complement, folded) to 0xddf2. */
export const RFC1071_EXAMPLE = hex('00 01 f2 03 f4 f5 f6 f7');
export const RFC1071_EXAMPLE_SUM = 0xddf2;

export const MAC_A = hex('02 00 00 00 00 01');
export const MAC_B = hex('00 11 22 33 44 55');
export const IP_S = hex('c0 00 02 01'); // 192.0.2.1
export const IP_D = hex('c6 33 64 07'); // 198.51.100.7

/** Offsets inside an untagged Ethernet frame. */
export const ETH = 14;
export const ETH_IP20 = 34;

export const ETH_IPV4_UDP = hex(`
  001122334455 020000000001 0800            # Ethernet: dst B, src A, IPv4
  45 00 0021 1234 4000 40 11 3c5c           # IPv4: IHL 5, tot 33, id 0x1234, DF, ttl 64, UDP, csum 0x3c5c
  c0000201 c6336407                         # 192.0.2.1 -> 198.51.100.7
  c000 9c40 000d 7384                       # UDP: 49152 -> 40000, len 13, csum 0x7384
  68656c6c6f                                # "hello"
`);

export const ETH_ARP_REQUEST = hex(`
  ffffffffffff 020000000001 0806            # Ethernet: broadcast, src A, ARP
  0001 0800 06 04 0001                      # htype 1, ptype IPv4, hlen 6, plen 4, op request
  020000000001 c0000201                     # sender A, 192.0.2.1
  000000000000 c00002fe                     # target ?, 192.0.2.254
`);

export const ETH_ARP_REPLY_PADDED = hex(`
  020000000001 001122334455 0806            # Ethernet: dst A, src B, ARP
  0001 0800 06 04 0002                      # op reply
  001122334455 c00002fe                     # sender B, 192.0.2.254
  020000000001 c0000201                     # target A, 192.0.2.1
  000000000000000000000000000000000000      # 18 bytes of Ethernet padding (frame = 60 bytes)
`);

export const ETH_IPV4_OPTIONS_ICMP_ECHO = hex(`
  001122334455 020000000001 0800
  47 b8 002c 0007 0000 01 01 00c2           # IHL 7 (28 bytes), DSCP 46 (EF) ECN 0, tot 44, id 7, ttl 1, ICMP
  c0000201 c6336407
  01                                        # option NOP
  07 07 04 c0000209                         # option Record Route: len 7, pointer 4, 192.0.2.9
  08 00 2421 4242 0007                      # ICMP echo request, csum 0x2421, id 0x4242, seq 7
  6162636465666768                          # "abcdefgh"
`);

export const ETH_ICMP_ECHO_REQUEST = hex(`
  001122334455 020000000001 0800
  45 00 0024 0001 0000 40 01 8e9c c0000201 c6336407
  08 00 2421 4242 0007 6162636465666768
`);

export const ETH_ICMP_PORT_UNREACHABLE = hex(`
  020000000001 001122334455 0800
  45 00 0038 0002 0000 40 01 8e87 c6336407 c0000201
  03 03 2d2a 00000000                       # ICMP dest unreachable, port, csum 0x2d2a, unused
  450000211234400040113c5cc0000201c6336407  # quoted: the IPv4 header of ETH_IPV4_UDP
  c0009c40000d7384                          # + its first 8 data bytes (the UDP header)
`);

export const ETH_ICMP_FRAG_NEEDED = hex(`
  020000000001 001122334455 0800
  45 00 0038 0003 0000 40 01 8e86 c6336407 c0000201
  03 04 27b1 0000 0578                      # fragmentation needed, next-hop MTU 1400
  450000211234400040113c5cc0000201c6336407 c0009c40000d7384
`);

export const ETH_ICMP_TIME_EXCEEDED = hex(`
  020000000001 001122334455 0800
  45 00 0038 0004 0000 ff 01 bdbd cb007101 c0000201   # 203.0.113.1 -> 192.0.2.1, ttl 255
  0b 00 252d 00000000                       # time exceeded in transit
  450000211234400040113c5cc0000201c6336407 c0009c40000d7384
`);

export const ETH_IPV4_UDP_NO_CHECKSUM = hex(`
  001122334455 020000000001 0800
  45 00 001f 0005 0000 40 11 8e8d c0000201 c6336407
  04d2 162e 000b 0000                       # 1234 -> 5678, len 11, checksum 0 (none)
  78797a                                    # "xyz"
`);

export const ETH_IPV4_FRAGMENT_FIRST = hex(`
  001122334455 020000000001 0800
  45 00 0024 abcd 2000 40 11 c2bf c0000201 c6336407   # MF, offset 0, 16 data bytes
  04d2 162e 0018 6ff9 1111111111111111      # first 16 bytes of a 24-byte UDP datagram
`);

export const ETH_IPV4_FRAGMENT_LAST = hex(`
  001122334455 020000000001 0800
  45 00 001c abcd 0002 40 11 e2c5 c0000201 c6336407   # offset 2 (16 bytes), last
  1111111111111111
`);

export const ETH_UDP_CHECKSUM_FFFF = hex(`
  001122334455 020000000001 0800
  45 00 001e 0006 0000 40 11 8e8d c0000201 c6336407
  0fa0 0fa1 000a ffff f45c                  # 4000 -> 4001, len 10, checksum computed 0, sent as 0xffff
`);

/** A fresh buffer of `n` bytes filled with the 0xa5 canary (smoltcp's habit). */
export function canary(n: number): Uint8Array {
  return new Uint8Array(n).fill(0xa5);
}
