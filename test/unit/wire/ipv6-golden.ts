/**
 * Golden IPv6 frames (IPv6, extension headers, ICMPv6, ND, MLD) for the wire codec tests,
 * with provenance.
 *
 * Generated with Debian's scapy (python3-scapy 2.5.0, `/usr/bin/python3`), each frame
 * printed as `bytes(pkt).hex()` and written with `wrpcap`. Checked with tshark 4.0.17
 * (`tshark -r vec.pcap -V -o udp.check_checksum:TRUE` and `-q -z expert`): every ICMPv6 and
 * UDP checksum `[correct]` (except the UDP header quoted, truncated, inside the Redirect:
 * "unverified"), no malformed packet and no expert error or warning; the only expert note
 * is "Routing header type is deprecated" for the type 0 routing header of
 * ETH_IPV6_EXT_CHAIN (there on purpose, RFC 5095). tshark reassembles the two fragments into
 * the 48-byte UDP datagram and dissects every ND option and MLD record as listed below.
 * (An MLDv2 record with auxiliary data made tshark 4.0.17 report "Malformed Packet": aux
 * data is tested with hand-made bytes instead — RFC 3810 §5.2.10: never sent, ignored.)
 * The script (scapy):
 *
 *   A='02:00:00:00:00:01'; B='00:11:22:33:44:55'; S='2001:db8::1'; D='2001:db8::7'
 *   LLA='fe80::ff:fe00:1'; LLB='fe80::211:22ff:fe33:4455'; ra=RouterAlert(value=0); hbh=IPv6ExtHdrHopByHop(options=[ra, PadN(optdata=b'')])
 *   orig = IPv6(src=S, dst=D, hlim=64)/UDP(sport=49152, dport=40000)/b'hello'
 *   ETH_IPV6_UDP          = Ether(dst=B, src=A)/orig
 *   ETH_IPV6_ECHO_REQUEST = Ether(dst=B, src=A)/IPv6(src=S, dst=D, tc=0xb9, fl=0x12345, hlim=64)
 *                             /ICMPv6EchoRequest(id=0x4242, seq=7, data=b'abcdefgh')
 *   ETH_IPV6_ECHO_REPLY   = Ether(dst=A, src=B)/IPv6(src=D, dst=S, hlim=64)/ICMPv6EchoReply(id=0x4242, seq=7, data=b'abcdefgh')
 *   ETH_IPV6_EXT_CHAIN    = Ether(dst=B, src=A)/IPv6(src=S, dst=D, hlim=64)/IPv6ExtHdrHopByHop(options=[ra])
 *                             /IPv6ExtHdrDestOpt(options=[HBHOptUnknown(otype=0x1e, optdata=b'\xaa\xbb')])
 *                             /IPv6ExtHdrRouting(type=0, segleft=0, addresses=['2001:db8::9'])
 *                             /IPv6ExtHdrFragment(offset=0, m=0, id=0x01020304)/IPv6ExtHdrDestOpt()/UDP(sport=1234, dport=5678)/b'xyz'
 *   frags = fragment6(IPv6(src=S, dst=D, hlim=64)/IPv6ExtHdrFragment(id=0xabcdef01)/UDP(sport=1234, dport=5678)/(b'\x11'*40), 80)
 *   ETH_IPV6_FRAGMENT_FIRST / _LAST = Ether(dst=B, src=A)/frags[0] / frags[1]
 *   ETH_MLDV2_REPORT = Ether(dst='33:33:00:00:00:16', src=A)/IPv6(src=LLA, dst='ff02::16', hlim=1)/hbh
 *                        /ICMPv6MLReport2(records=[ICMPv6MLDMultAddrRec(rtype=4, dst='ff02::1:ff00:1'),
 *                          ICMPv6MLDMultAddrRec(rtype=1, dst='ff05::2', sources=['2001:db8::9','2001:db8::a'])])
 *   ETH_MLDV1_QUERY  = Ether(dst='33:33:00:00:00:01', src=B)/IPv6(src=LLB, dst='ff02::1', hlim=1)/hbh/ICMPv6MLQuery(mrd=10000, mladdr='::')
 *   ETH_MLDV1_REPORT = Ether(dst='33:33:ff:00:00:01', src=A)/IPv6(src=LLA, dst='ff02::1:ff00:1', hlim=1)/hbh
 *                        /ICMPv6MLReport(mladdr='ff02::1:ff00:1')
 *   ETH_MLDV1_DONE   = Ether(dst='33:33:00:00:00:02', src=A)/IPv6(src=LLA, dst='ff02::2', hlim=1)/hbh/ICMPv6MLDone(mladdr='ff02::1:ff00:1')
 *   ETH_MLDV2_QUERY  = Ether(dst='33:33:00:00:00:02', src=B)/IPv6(src=LLB, dst='ff05::2', hlim=1)/hbh
 *                        /ICMPv6MLQuery2(mrd=0x8123, mladdr='ff05::2', S=1, QRV=2, QQIC=125, sources=['2001:db8::9'])
 *   ETH_ND_RS     = Ether(dst='33:33:00:00:00:02', src=A)/IPv6(src=LLA, dst='ff02::2', hlim=255)/ICMPv6ND_RS()/ICMPv6NDOptSrcLLAddr(lladdr=A)
 *   ETH_ND_RA     = Ether(dst='33:33:00:00:00:01', src=B)/IPv6(src=LLB, dst='ff02::1', hlim=255)
 *                     /ICMPv6ND_RA(chlim=64, M=0, O=1, prf=1, routerlifetime=1800, reachabletime=30000, retranstimer=1000)
 *                     /ICMPv6NDOptSrcLLAddr(lladdr=B)/ICMPv6NDOptMTU(mtu=1500)
 *                     /ICMPv6NDOptPrefixInfo(prefix='2001:db8::', prefixlen=64, L=1, A=1, validlifetime=86400, preferredlifetime=14400)
 *                     /ICMPv6NDOptRDNSS(lifetime=600, dns=['2001:db8::53','2001:db8::54'])
 *                     /ICMPv6NDOptDNSSL(lifetime=600, searchlist=['lan.test.','iot.test.'])
 *   ETH_ND_NS_DAD = Ether(dst='33:33:ff:00:00:01', src=A)/IPv6(src='::', dst='ff02::1:ff00:1', hlim=255)/ICMPv6ND_NS(tgt=LLA)
 *   ETH_ND_NS     = Ether(dst='33:33:ff:33:44:55', src=A)/IPv6(src=LLA, dst='ff02::1:ff33:4455', hlim=255)/ICMPv6ND_NS(tgt=LLB)
 *                     /ICMPv6NDOptSrcLLAddr(lladdr=A)
 *   ETH_ND_NA     = Ether(dst=A, src=B)/IPv6(src=LLB, dst=LLA, hlim=255)/ICMPv6ND_NA(R=1, S=1, O=1, tgt=LLB)/ICMPv6NDOptDstLLAddr(lladdr=B)
 *   ETH_ND_REDIRECT = Ether(dst=A, src=B)/IPv6(src=LLB, dst=LLA, hlim=255)/ICMPv6ND_Redirect(tgt='fe80::9', dst=D)
 *                     /ICMPv6NDOptDstLLAddr(lladdr='00:11:22:33:44:99')/ICMPv6NDOptRedirectedHdr(pkt=bytes(orig)[:48])
 *   ETH_ICMPV6_PORT_UNREACHABLE = Ether(dst=A, src=B)/IPv6(src=D, dst=S, hlim=64)/ICMPv6DestUnreach(code=4)/bytes(orig)
 *   ETH_ICMPV6_PACKET_TOO_BIG   = Ether(dst=A, src=B)/IPv6(src='2001:db8:1::fe', dst=S, hlim=64)/ICMPv6PacketTooBig(mtu=1280)/bytes(orig)
 *   ETH_ICMPV6_TIME_EXCEEDED    = Ether(dst=A, src=B)/IPv6(src='2001:db8:1::fe', dst=S, hlim=64)/ICMPv6TimeExceeded(code=0)/bytes(orig)
 *   ETH_ICMPV6_PARAM_PROBLEM    = Ether(dst=A, src=B)/IPv6(src=D, dst=S, hlim=64)/ICMPv6ParamProblem(code=1, ptr=6)/bytes(orig)
 */
import { fromHex } from '../../../src/wire/bytes.ts';

function hex(text: string): Uint8Array {
  const b = fromHex(text);
  if (b === undefined) throw new Error(`bad hex fixture: ${text.slice(0, 40)}`);
  return b;
}

export const MAC_A = hex('02 00 00 00 00 01');
export const MAC_B = hex('00 11 22 33 44 55');
export const IP6_S = hex('20010db8 00000000 00000000 00000001'); // 2001:db8::1
export const IP6_D = hex('20010db8 00000000 00000000 00000007'); // 2001:db8::7
export const IP6_ROUTER = hex('20010db8 00010000 00000000 000000fe'); // 2001:db8:1::fe
/** fe80::ff:fe00:1, the modified EUI-64 link-local address of MAC_A. */
export const LL_A = hex('fe800000 00000000 000000ff fe000001');
/** fe80::211:22ff:fe33:4455, the modified EUI-64 link-local address of MAC_B. */
export const LL_B = hex('fe800000 00000000 021122ff fe334455');
export const IP6_UNSPECIFIED = new Uint8Array(16);
export const IP6_ALL_NODES = hex('ff020000 00000000 00000000 00000001');
export const IP6_ALL_ROUTERS = hex('ff020000 00000000 00000000 00000002');
export const IP6_MLDV2_ROUTERS = hex('ff020000 00000000 00000000 00000016');
/** ff02::1:ff00:1, the solicited-node group of LL_A. */
export const SNM_A = hex('ff020000 00000000 00000001 ff000001');
/** ff05::2 */
export const SITE_ROUTERS = hex('ff050000 00000000 00000000 00000002');

/** Offsets inside an untagged Ethernet frame. */
export const ETH = 14;
/** Start of the payload after a bare 40-byte IPv6 header. */
export const ETH_IP6 = 54;
/** Start of the ICMPv6 message after the 8-byte Hop-by-Hop header of the MLD frames. */
export const ETH_IP6_HBH = 62;

export const ETH_IPV6_UDP = hex(`
  001122334455 020000000001 86dd            # Ethernet: dst B, src A, IPv6
  60000000 000d 11 40                       # IPv6: tc 0, flow 0, payload 13, UDP, hop limit 64
  20010db8000000000000000000000001 20010db8000000000000000000000007
  c000 9c40 000d 0447                       # UDP: 49152 -> 40000, len 13, csum 0x0447
  68656c6c6f                                # "hello"
`);

export const ETH_IPV6_ECHO_REQUEST = hex(`
  001122334455 020000000001 86dd
  6b912345 0010 3a 40                       # tc 0xb9 (DSCP 46, ECN 1), flow label 0x12345, payload 16, ICMPv6
  20010db8000000000000000000000001 20010db8000000000000000000000007
  80 00 505c 4242 0007                      # echo request, csum 0x505c, id 0x4242, seq 7
  6162636465666768                          # "abcdefgh"
`);

export const ETH_IPV6_ECHO_REPLY = hex(`
  020000000001 001122334455 86dd
  60000000 0010 3a 40
  20010db8000000000000000000000007 20010db8000000000000000000000001
  81 00 4f5c 4242 0007 6162636465666768     # echo reply
`);

export const ETH_IPV6_EXT_CHAIN = hex(`
  001122334455 020000000001 86dd
  60000000 0043 00 40                       # payload 67, next header 0 (Hop-by-Hop)
  20010db8000000000000000000000001 20010db8000000000000000000000007
  3c 00 0502 0000 0100                      # @40 HBH -> 60: Router Alert 0 (MLD), PadN 0
  2b 00 1e02 aabb 0100                      # @48 Dest Options -> 43: option 0x1e (skip) aa bb, PadN 0
  2c 02 00 00 00000000                      # @56 Routing -> 44: len 2 (24 bytes), type 0, segments left 0
  20010db8000000000000000000000009          #     address 2001:db8::9
  3c 00 0000 01020304                       # @80 Fragment -> 60: offset 0, M 0 (atomic), id 0x01020304
  11 00 0104 00000000                       # @88 Dest Options -> UDP: PadN 4
  04d2 162e 000b 96e4 78797a                # @96 UDP 1234 -> 5678, len 11, "xyz"
`);

export const ETH_IPV6_FRAGMENT_FIRST = hex(`
  001122334455 020000000001 86dd
  60000000 0028 2c 40                       # payload 40, next header 44 (Fragment)
  20010db8000000000000000000000001 20010db8000000000000000000000007
  11 00 0001 abcdef01                       # Fragment -> UDP: offset 0, M 1, id 0xabcdef01
  04d2 162e 0030 33bf                       # UDP header of the 48-byte datagram
  111111111111111111111111111111111111111111111111
`);

export const ETH_IPV6_FRAGMENT_LAST = hex(`
  001122334455 020000000001 86dd
  60000000 0018 2c 40
  20010db8000000000000000000000001 20010db8000000000000000000000007
  11 00 0020 abcdef01                       # offset 4 (32 bytes), M 0
  11111111111111111111111111111111
`);

export const ETH_MLDV2_REPORT = hex(`
  333300000016 020000000001 86dd
  60000000 0058 00 01                       # Hop-by-Hop, hop limit 1
  fe80000000000000000000fffe000001 ff020000000000000000000000000016
  3a 00 0502 0000 0100                      # HBH -> ICMPv6: Router Alert 0, PadN 0
  8f 00 1643 0000 0002                      # MLDv2 report, 2 records
  04 00 0000 ff0200000000000000000001ff000001          # CHANGE_TO_EXCLUDE ff02::1:ff00:1, no sources
  01 00 0002 ff050000000000000000000000000002          # MODE_IS_INCLUDE ff05::2, 2 sources
  20010db8000000000000000000000009 20010db800000000000000000000000a
`);

export const ETH_MLDV1_QUERY = hex(`
  333300000001 001122334455 86dd
  60000000 0020 00 01
  fe80000000000000021122fffe334455 ff020000000000000000000000000001
  3a 00 0502 0000 0100
  82 00 f17e 2710 0000                      # MLD query, max response delay 10000 ms
  00000000000000000000000000000000          # general query (::)
`);

export const ETH_MLDV1_REPORT = hex(`
  3333ff000001 020000000001 86dd
  60000000 0020 00 01
  fe80000000000000000000fffe000001 ff0200000000000000000001ff000001
  3a 00 0502 0000 0100
  83 00 831f 0000 0000 ff0200000000000000000001ff000001   # MLDv1 report ff02::1:ff00:1
`);

export const ETH_MLDV1_DONE = hex(`
  333300000002 020000000001 86dd
  60000000 0020 00 01
  fe80000000000000000000fffe000001 ff020000000000000000000000000002
  3a 00 0502 0000 0100
  84 00 8120 0000 0000 ff0200000000000000000001ff000001   # MLD done ff02::1:ff00:1
`);

export const ETH_MLDV2_QUERY = hex(`
  333300000002 001122334455 86dd
  60000000 0034 00 01
  fe80000000000000021122fffe334455 ff050000000000000000000000000002
  3a 00 0502 0000 0100
  82 00 600b 8123 0000                      # MLDv2 query, max response code 0x8123 (exponential form)
  ff050000000000000000000000000002          # group-and-source-specific: ff05::2
  0a 7d 0001                                # S 1, QRV 2, QQIC 125, 1 source
  20010db8000000000000000000000009
`);

export const ETH_ND_RS = hex(`
  333300000002 020000000001 86dd
  60000000 0010 3a ff                       # hop limit 255
  fe80000000000000000000fffe000001 ff020000000000000000000000000002
  85 00 7b2c 00000000                       # router solicitation
  01 01 020000000001                        # source link-layer address A
`);

export const ETH_ND_RA = hex(`
  333300000001 001122334455 86dd
  60000000 0088 3a ff
  fe80000000000000021122fffe334455 ff020000000000000000000000000001
  86 00 b9a5 40 48 0708                     # RA: cur hop limit 64, flags O + Prf high (01), router lifetime 1800
  00007530 000003e8                         # reachable 30000 ms, retrans 1000 ms
  01 01 001122334455                        # source link-layer address B
  05 01 0000 000005dc                       # MTU 1500
  03 04 40 c0 00015180 00003840 00000000    # prefix /64, L A, valid 86400, preferred 14400
  20010db8000000000000000000000000          #   2001:db8::
  19 05 0000 00000258                       # RDNSS, lifetime 600
  20010db8000000000000000000000053 20010db8000000000000000000000054
  1f 04 0000 00000258                       # DNSSL, lifetime 600
  036c616e 0474657374 00 03696f74 0474657374 00 00000000   # lan.test, iot.test, padding
`);

export const ETH_ND_NS_DAD = hex(`
  3333ff000001 020000000001 86dd
  60000000 0018 3a ff
  00000000000000000000000000000000 ff0200000000000000000001ff000001   # :: -> solicited-node of LL_A
  87 00 7d25 00000000 fe80000000000000000000fffe000001                 # NS for LL_A (DAD: no options)
`);

export const ETH_ND_NS = hex(`
  3333ff334455 020000000001 86dd
  60000000 0020 3a ff
  fe80000000000000000000fffe000001 ff0200000000000000000001ff334455
  87 00 cf79 00000000 fe80000000000000021122fffe334455                 # NS for LL_B
  01 01 020000000001                        # source link-layer address A
`);

export const ETH_ND_NA = hex(`
  020000000001 001122334455 86dd
  60000000 0020 3a ff
  fe80000000000000021122fffe334455 fe80000000000000000000fffe000001
  88 00 6553 e0000000 fe80000000000000021122fffe334455                 # NA R S O, target LL_B
  02 01 001122334455                        # target link-layer address B
`);

export const ETH_ND_REDIRECT = hex(`
  020000000001 001122334455 86dd
  60000000 0068 3a ff
  fe80000000000000021122fffe334455 fe80000000000000000000fffe000001
  89 00 4c34 00000000                       # redirect
  fe800000000000000000000000000009          # target fe80::9
  20010db8000000000000000000000007          # destination 2001:db8::7
  02 01 001122334499                        # target link-layer address
  04 07 000000000000                        # redirected header, 7 x 8 bytes: 48 bytes of the original
  60000000000d114020010db8000000000000000000000001 20010db8000000000000000000000007 c0009c40000d0447
`);

export const ETH_ICMPV6_PORT_UNREACHABLE = hex(`
  020000000001 001122334455 86dd
  60000000 003d 3a 40
  20010db8000000000000000000000007 20010db8000000000000000000000001
  01 04 31db 00000000                       # destination unreachable, port
  60000000000d1140 20010db8000000000000000000000001 20010db8000000000000000000000007
  c0009c40000d0447 68656c6c6f               # the whole invoking packet (ETH_IPV6_UDP's)
`);

export const ETH_ICMPV6_PACKET_TOO_BIG = hex(`
  020000000001 001122334455 86dd
  60000000 003d 3a 40
  20010db80001000000000000000000fe 20010db8000000000000000000000001
  02 00 2ae7 00000500                       # packet too big, MTU 1280
  60000000000d1140 20010db8000000000000000000000001 20010db8000000000000000000000007
  c0009c40000d0447 68656c6c6f
`);

export const ETH_ICMPV6_TIME_EXCEEDED = hex(`
  020000000001 001122334455 86dd
  60000000 003d 3a 40
  20010db80001000000000000000000fe 20010db8000000000000000000000001
  03 00 2ee7 00000000                       # time exceeded, hop limit
  60000000000d1140 20010db8000000000000000000000001 20010db8000000000000000000000007
  c0009c40000d0447 68656c6c6f
`);

export const ETH_ICMPV6_PARAM_PROBLEM = hex(`
  020000000001 001122334455 86dd
  60000000 003d 3a 40
  20010db8000000000000000000000007 20010db8000000000000000000000001
  04 01 2ed8 00000006                       # parameter problem, unrecognized next header, pointer 6
  60000000000d1140 20010db8000000000000000000000001 20010db8000000000000000000000007
  c0009c40000d0447 68656c6c6f
`);

/** A fresh buffer of `n` bytes filled with the 0xa5 canary. */
export function canary(n: number): Uint8Array {
  return new Uint8Array(n).fill(0xa5);
}
