/**
 * `iotnet pcap FILE`: a summary of a capture (link type, records, time span, bytes,
 * per-protocol counts, top conversations, malformed records), as text or `--json`.
 */
import { createReadStream, statSync } from 'node:fs';
import { PcapSummarizer, type PcapSummary } from '../apps/pcap-summary/pcap-summary.ts';
import { forEachOption } from './args.ts';
import { formatBytes, formatDuration, Progress } from './progress.ts';
import { UsageError } from './usage-error.ts';

export const PCAP_USAGE = `Usage: iotnet pcap FILE|- [options]

Summarises a capture in the classic pcap format (what 'iotnet tap --pcap', the
demo and the tests write, and tcpdump -w): link type, record count, time span,
bytes, records per protocol, the top conversations by bytes and the records our
codecs refuse (malformed). Decodes Ethernet (ARP, IPv4, IPv6), PPP (linktypes 9,
50, 204), raw IP (101, 228, 229) and IEEE 802.15.4 (195, 230) with 6LoWPAN; above
IP: ICMP, ICMPv6, TCP, UDP, and by port DNS, DHCP, DHCPv6, NTP, HTTP(S), MQTT.
FILE '-' reads standard input (tcpdump -w - | iotnet pcap -). pcapng files are
not read (convert with 'editcap -F pcap IN OUT').

Options:
  --json        the summary as one JSON object on stdout
  --top N       conversations to list (default 10)
  -h, --help    this text

Exit codes: 0 read to the end (malformed records are counted, not fatal),
1 the file cannot be read or is not a pcap file, 2 usage error.`;

interface PcapArgs {
  file: string;
  json: boolean;
  top: number;
  help: boolean;
}

function parsePcapArgs(args: readonly string[]): PcapArgs {
  const out: PcapArgs = { file: '', json: false, top: 10, help: false };
  let file: string | undefined;
  forEachOption(args, (name, value, arg) => {
    switch (name) {
      case '--json':
        out.json = true;
        break;
      case '--top': {
        const v = value();
        if (!/^\d{1,4}$/.test(v)) throw new UsageError(`--top: not a count: '${v}'`);
        out.top = Number(v);
        break;
      }
      case '-h':
      case '--help':
        out.help = true;
        break;
      default:
        if (arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown option '${arg}'`);
        if (file !== undefined) throw new UsageError(`one FILE only (got '${file}' and '${arg}')`);
        file = arg;
    }
  });
  if (!out.help && file === undefined) throw new UsageError('FILE is missing');
  out.file = file ?? '';
  return out;
}

const ERRORS: Readonly<Record<string, string>> = {
  'not-pcap': 'not a pcap file (no pcap magic number)',
  pcapng: 'a pcapng file: not read here (convert it: editcap -F pcap IN OUT)',
  'bad-record': 'a record with an impossible length: the rest cannot be read',
};

function time(ms: number | undefined): string {
  return ms === undefined ? '-' : new Date(ms).toISOString();
}

/** The text form of a summary. */
export function formatPcapSummary(file: string, s: PcapSummary): string {
  const lines = [
    `file:           ${file}`,
    `link type:      ${s.linkType ?? '-'} (${s.linkTypeName})`,
    `records:        ${s.records}`,
    `bytes:          ${s.bytes} captured (${formatBytes(s.bytes)})${s.wireBytes !== s.bytes ? `, ${s.wireBytes} on the wire` : ''}`,
    `time:           ${time(s.firstMs)} .. ${time(s.lastMs)} (${formatDuration(s.durationMs)})`,
    `malformed:      ${s.malformed}${s.malformed > 0 ? ` (${Object.entries(s.malformedReasons).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}`,
  ];
  if (s.truncatedBytes > 0) lines.push(`truncated:      ${s.truncatedBytes} bytes after the last whole record (the file was cut short)`);
  if (s.error !== undefined) lines.push(`error:          ${ERRORS[s.error] ?? s.error}`);
  const protocols = Object.entries(s.protocols);
  if (protocols.length > 0) {
    const w = Math.max(...protocols.map(([k]) => k.length));
    lines.push('protocols (records):');
    for (const [k, v] of protocols) lines.push(`  ${k.padEnd(w)}  ${String(v).padStart(8)}`);
  }
  if (s.conversations.length > 0) {
    lines.push(`top conversations (by bytes):`);
    for (const c of s.conversations) lines.push(`  ${c.protocol.padEnd(6)} ${c.a} <-> ${c.b}  ${c.packets} records, ${c.bytes} bytes`);
  }
  return lines.join('\n');
}

export async function runPcap(args: readonly string[]): Promise<number> {
  const a = parsePcapArgs(args);
  if (a.help) {
    console.log(PCAP_USAGE);
    return 0;
  }
  let size: number | undefined;
  if (a.file !== '-') {
    try {
      const st = statSync(a.file);
      if (!st.isFile()) throw new Error(`${a.file}: not a regular file`);
      size = st.size;
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      console.error(`iotnet pcap: cannot read ${a.file}: ${code === 'ENOENT' ? 'no such file' : e instanceof Error ? e.message : String(e)}`);
      return 1;
    }
  }
  const summarizer = new PcapSummarizer();
  const progress = new Progress({ label: `reading ${a.file === '-' ? 'stdin' : a.file}`, total: size, unit: 'bytes' });
  let read = 0;
  try {
    const input = a.file === '-' ? process.stdin : createReadStream(a.file, { highWaterMark: 1 << 20 });
    for await (const chunk of input) {
      const b = chunk as Buffer;
      summarizer.push(new Uint8Array(b.buffer, b.byteOffset, b.length));
      read += b.length;
      progress.update(read, `${summarizer.records} records`);
      if (summarizer.error !== undefined) break;
    }
  } finally {
    progress.done();
  }
  const s = summarizer.summary(a.top);
  if (a.json) console.log(JSON.stringify({ file: a.file, ...s }, null, 2));
  else console.log(formatPcapSummary(a.file, s));
  if (s.error !== undefined) {
    console.error(`iotnet pcap: ${a.file}: ${ERRORS[s.error] ?? s.error}`);
    return 1;
  }
  return 0;
}
