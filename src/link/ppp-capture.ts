/**
 * Packet capture of PPP sessions: a `PppFrameTap` for `PppLinkOptions.capture` that writes every
 * frame, both ways, as a libpcap record, so tshark and Wireshark dissect LCP, PAP, CHAP, IPCP,
 * IPV6CP and the IP traffic.
 *
 * Link types: `PPP_WITH_DIR` (204, default: a direction byte, 0 received and 1 sent, then the
 * frame) or `PPP_HDLC` (50: the frame with its FCS-16, as on the line without the stuffing).
 * Frames are written uncompressed whatever was negotiated (Address/Control `FF 03` and a two-byte
 * protocol restored), which every dissector reads.
 */
import type { Clock } from '../base/time.ts';
import { isFault } from '../wire/fault.ts';
import { withFcs } from '../wire/ppp/hdlc.ts';
import { parsePppFrame } from '../wire/ppp/ppp-packet.ts';
import { pcapGlobalHeader, PcapLinkType, pcapRecord } from './pcap-writer.ts';
import type { PppFrameTap } from './ppp-link.ts';

/** Options of `pppCaptureTap`: clock, sink, link type and epoch. */
export interface PppCaptureOptions {
  /** Timestamps: `clock.now()` + `epochMs`. */
  clock: Clock;
  /** Receives the global header at once and one chunk per record. */
  sink: (chunk: Uint8Array) => void;
  /** Default `PcapLinkType.PPP_WITH_DIR`. */
  linkType?: typeof PcapLinkType.PPP_WITH_DIR | typeof PcapLinkType.PPP_HDLC;
  /** Unix time in ms at clock time 0 (default: from the clock's `wallClock()` when it has one, else 0). */
  epochMs?: number;
}

/** The frame with `FF 03` and a two-byte protocol, whatever compression it used (unparseable frames as they are). */
function uncompressed(frame: Uint8Array): Uint8Array {
  const f = parsePppFrame(frame);
  if (isFault(f)) return frame;
  const out = new Uint8Array(4 + f.info.length);
  out[0] = 0xff;
  out[1] = 0x03;
  out[2] = f.protocol >> 8;
  out[3] = f.protocol & 0xff;
  out.set(f.info, 4);
  return out;
}

/** A capture tap writing pcap records to `sink`. */
export function pppCaptureTap(options: PppCaptureOptions): PppFrameTap {
  const linkType = options.linkType ?? PcapLinkType.PPP_WITH_DIR;
  const wall = (options.clock as Partial<{ wallClock(): number }>).wallClock;
  const epochMs = options.epochMs ?? (typeof wall === 'function' ? wall.call(options.clock) - options.clock.now() : 0);
  options.sink(pcapGlobalHeader(linkType));
  return (direction, frame, now) => {
    const plain = uncompressed(frame);
    let record: Uint8Array;
    if (linkType === PcapLinkType.PPP_HDLC) record = withFcs(plain);
    else {
      record = new Uint8Array(1 + plain.length);
      record[0] = direction === 'tx' ? 1 : 0;
      record.set(plain, 1);
    }
    options.sink(pcapRecord(epochMs + now, record));
  };
}
