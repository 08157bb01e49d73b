/**
 * `iotnet ping HOST`: ICMP echo through our userspace stack (`--via tap:IF`, or the built-in
 * virtual network `--via embedded`), or, on the host stack where Node has no raw sockets, a
 * TCP connect "ping" (`--via host`, the default). One line per probe, then the statistics
 * with rtt min/avg/max; exit 1 when nothing answered.
 */
import { createCable } from '../link/virtual-cable.ts';
import { formatIPv4, formatIPv6, parseIp } from '../base/ip-address.ts';
import { IOT_SOCKET_ETIMEDOUT, iotCodeName } from '../base/iot-constants.ts';
import { SocketError } from '../base/socket-error.ts';
import { CryptoRng } from '../runtime/crypto-rng.ts';
import { StackRunner } from '../runtime/stack-runner.ts';
import { Stack, toIpv6, type PingResult } from '../stack/stack.ts';
import { forEachOption, intArg, secondsArg } from './args.ts';
import { describeError } from './describe-error.ts';
import { Progress } from './progress.ts';
import { UsageError } from './usage-error.ts';
import { checkViaOptions, defaultViaOptions, openVia, parseVia, VIA_OPTIONS_HELP, viaOption, type OpenedVia, type Via, type ViaOptions } from './via.ts';

/** The built-in virtual network of `--via embedded`. */
export const EMBEDDED_PING_NET = Object.freeze({
  self: '192.168.77.2',
  responder: '192.168.77.1',
  self6: 'fd00:77::2',
  responder6: 'fd00:77::1',
  prefixLen: 24,
  prefixLen6: 64,
});

export const PING_USAGE = `Usage: iotnet ping HOST [options]

Sends echo requests to HOST and prints one line per reply, then the round-trip
statistics (min/avg/max). Exit code 0 when at least one reply came, 1 when none.

  --via host        (default) the host's stack. Node has no raw ICMP sockets, so each
                    probe is a TCP connection to HOST:--port; an accepted or a refused
                    connection (RST: the host is up, the port closed) is a reply; the time
                    is the TCP handshake's. Use tap: or embedded for ICMP.
  --via tap:IF      ICMP echo (or ICMPv6 with -6) from our userspace stack on the TAP
                    interface IF (root or CAP_NET_ADMIN; the interface must exist, e.g.
                    'ip tuntap add mode tap name IF', with the peer on its kernel side)
  --via embedded    ICMP echo on a built-in in-process virtual network (no root): our
                    stack ${EMBEDDED_PING_NET.self}/${EMBEDDED_PING_NET.prefixLen} (${EMBEDDED_PING_NET.self6}) and a responder stack
                    ${EMBEDDED_PING_NET.responder} (${EMBEDDED_PING_NET.responder6}) on a virtual cable; other addresses on the
                    subnet do not answer (address resolution fails)

Options:
  -c, --count N         probes to send (default 4; 0 = until SIGINT)
  -i, --interval S      seconds between probes (default 1; 0.01 at least)
  -s, --size N          ICMP echo data bytes (default 56; up to 65507, fragmented)
  -W, --timeout S       seconds to wait for each reply (default 2)
  -6, -4                IPv6 / IPv4 (default: the family of HOST, IPv4 for names)
  --port N              --via host: the TCP port probed (default 80)
${VIA_OPTIONS_HELP.split('\n').filter((l) => /^ {2}--(ipv4|gateway|dns|ipv6|up-timeout)/.test(l)).join('\n')}
  -h, --help            this text`;

interface PingArgs {
  host: string;
  via: Via;
  viaOptions: ViaOptions;
  count: number;
  intervalMs: number;
  size: number;
  timeoutMs: number;
  family: 4 | 6 | undefined;
  port: number;
  help: boolean;
}

function parsePingArgs(args: readonly string[]): PingArgs {
  const out: PingArgs = {
    host: '', via: { kind: 'host' }, viaOptions: defaultViaOptions(), count: 4, intervalMs: 1000, size: 56, timeoutMs: 2000,
    family: undefined, port: 80, help: false,
  };
  let host: string | undefined;
  let port: number | undefined;
  let size: number | undefined;
  forEachOption(args, (name, value, arg) => {
    if (viaOption(out.viaOptions, name, value)) return;
    switch (name) {
      case '--via':
        out.via = parseVia(value(), ['host', 'embedded', 'tap']);
        break;
      case '-c':
      case '--count':
        out.count = intArg(name, value(), 0, 1_000_000);
        break;
      case '-i':
      case '--interval':
        out.intervalMs = secondsArg(name, value(), 0.01, 3600);
        break;
      case '-s':
      case '--size':
        size = intArg(name, value(), 0, 65507);
        break;
      case '-W':
      case '--timeout':
        out.timeoutMs = secondsArg(name, value(), 0.01, 3600);
        break;
      case '-4':
        out.family = 4;
        break;
      case '-6':
        out.family = 6;
        break;
      case '--port':
        port = intArg('--port', value(), 1, 65535);
        break;
      case '-h':
      case '--help':
        out.help = true;
        break;
      default:
        if (arg.startsWith('-')) throw new UsageError(`unknown option '${arg}'`);
        if (host !== undefined) throw new UsageError(`one HOST only (got '${host}' and '${arg}')`);
        host = arg;
    }
  });
  if (out.help) return out;
  if (host === undefined) throw new UsageError('HOST is missing');
  out.host = host;
  if (out.via.kind === 'embedded') {
    if (out.viaOptions.ipv4 !== undefined || out.viaOptions.ipv6 !== undefined || out.viaOptions.gateway !== undefined || out.viaOptions.dns.length > 0) {
      throw new UsageError('--via embedded has its own addresses: no --ipv4, --ipv6, --gateway or --dns');
    }
  } else checkViaOptions(out.via, out.viaOptions);
  const literal = parseIp(host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host);
  if (literal !== undefined) {
    const fam = literal.length === 16 ? 6 : 4;
    if (out.family !== undefined && out.family !== fam) throw new UsageError(`-${out.family}: '${host}' is an IPv${fam} address`);
    out.family = fam;
  }
  if (out.via.kind === 'embedded' && literal === undefined) throw new UsageError(`--via embedded: HOST must be an address (the responder is ${EMBEDDED_PING_NET.responder} or ${EMBEDDED_PING_NET.responder6})`);
  if (port !== undefined && out.via.kind !== 'host') throw new UsageError('--port is for --via host (the TCP connect probe)');
  if (size !== undefined && out.via.kind === 'host') throw new UsageError('--size is for ICMP (--via tap:IF or embedded); --via host probes with TCP connections');
  if (out.via.kind === 'tap' && out.family === 6 && out.viaOptions.ipv6 === undefined) throw new UsageError('-6 over --via tap:IF needs --ipv6 auto or --ipv6 ADDR/LEN');
  out.port = port ?? 80;
  out.size = size ?? 56;
  return out;
}

/** Counts and rtts of a run. */
class Tally {
  sent = 0;
  received = 0;
  errors = 0;
  readonly rtts: number[] = [];

  summary(host: string, elapsedMs: number): string {
    const loss = this.sent === 0 ? 0 : ((this.sent - this.received) * 100) / this.sent;
    const lines = [
      `--- ${host} ping statistics ---`,
      `${this.sent} packets transmitted, ${this.received} received${this.errors > 0 ? `, +${this.errors} errors` : ''}, ${loss.toFixed(loss % 1 === 0 ? 0 : 1)}% packet loss, time ${Math.round(elapsedMs)}ms`,
    ];
    if (this.rtts.length > 0) {
      const min = Math.min(...this.rtts);
      const max = Math.max(...this.rtts);
      const avg = this.rtts.reduce((a, b) => a + b, 0) / this.rtts.length;
      lines.push(`rtt min/avg/max = ${min.toFixed(3)}/${avg.toFixed(3)}/${max.toFixed(3)} ms`);
    }
    return lines.join('\n');
  }
}

/** Something that sends one probe and resolves with its outcome line (and rtt when answered). */
type Probe = (seq: number) => Promise<{ line: string; rttMs?: number; error?: boolean }>;

/** An ICMP probe on a userspace stack. */
function icmpProbe(stack: Stack, runner: StackRunner, dst: string, size: number, timeoutMs: number): Probe {
  const family6 = dst.includes(':');
  const dstBytes = family6 ? toIpv6(dst) : undefined;
  return (seq) => new Promise((resolve) => {
    const done = (r: PingResult): void => {
      const from = r.from6 !== undefined ? formatIPv6(r.from6) : r.from !== 0 ? formatIPv4(Uint8Array.of(r.from >>> 24, (r.from >>> 16) & 0xff, (r.from >>> 8) & 0xff, r.from & 0xff)) : dst;
      if (r.code === 0) {
        resolve({ line: `${r.bytes + 8} bytes from ${from}: icmp_seq=${seq} ${family6 ? 'hlim' : 'ttl'}=${r.ttl} time=${r.rttMs.toFixed(3)} ms${r.dataMatches ? '' : ' (DIFFERENT DATA)'}`, rttMs: r.rttMs });
      } else if (r.icmpType !== undefined) {
        resolve({ line: `From ${from} icmp_seq=${seq} ${icmpErrorText(family6, r.icmpType, r.icmpCode ?? 0)}`, error: true });
      } else if (r.code === IOT_SOCKET_ETIMEDOUT || r.rttMs >= timeoutMs) {
        resolve({ line: `no reply from ${dst}: icmp_seq=${seq} (timeout after ${timeoutMs} ms)` });
      } else {
        resolve({ line: `no reply from ${dst}: icmp_seq=${seq} (${family6 ? 'neighbour' : 'address'} resolution failed or no route)`, error: true });
      }
    };
    const r = stack.ping(runner.now(), dstBytes ?? dst, { size, timeoutMs }, done);
    runner.wake();
    if (r < 0) resolve({ line: `icmp_seq=${seq}: cannot send (${new SocketError(iotCodeName(r)).message})`, error: true });
  });
}

function icmpErrorText(v6: boolean, type: number, code: number): string {
  if (!v6 && type === 3) return `Destination unreachable (code ${code})`;
  if (!v6 && type === 11) return 'Time to live exceeded';
  if (v6 && type === 1) return `Destination unreachable (code ${code})`;
  if (v6 && type === 3) return 'Time exceeded: hop limit';
  return `ICMP${v6 ? 'v6' : ''} error type ${type} code ${code}`;
}

/** A TCP connect probe on any `Network`. */
function tcpProbe(v: OpenedVia, address: string, port: number, timeoutMs: number): Probe {
  const target = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  return async (seq) => {
    const start = performance.now();
    try {
      const s = await v.network.connect(target, { timeoutMs });
      const rtt = performance.now() - start;
      s.destroy();
      return { line: `connected to ${target}: seq=${seq} time=${rtt.toFixed(3)} ms`, rttMs: rtt };
    } catch (e) {
      const rtt = performance.now() - start;
      if (e instanceof SocketError && e.code === 'ECONNREFUSED') return { line: `refused by ${target} (host up, port closed): seq=${seq} time=${rtt.toFixed(3)} ms`, rttMs: rtt };
      if (e instanceof SocketError && e.code === 'ETIMEDOUT') return { line: `no answer from ${target}: seq=${seq} (timeout after ${timeoutMs} ms)` };
      return { line: `seq=${seq}: ${describeError(e)}`, error: true };
    }
  };
}

/** The embedded network: our stack and a responder on a virtual cable. */
function embeddedNet(): { stack: Stack; runner: StackRunner; close(): void } {
  const n = EMBEDDED_PING_NET;
  const [a, b] = createCable();
  const make = (link: typeof a, v4: string, v6: string, name: string): { stack: Stack; runner: StackRunner } => {
    const stack = new Stack({ rng: new CryptoRng(), name });
    const ifIndex = stack.addInterface(link, { ipv4: { address: v4, prefixLen: n.prefixLen } });
    stack.enableIpv6(ifIndex, { autoconf: false, dadTransmits: 0, addresses: [{ address: toIpv6(v6), prefixLen: n.prefixLen6 }] });
    return { stack, runner: new StackRunner(stack) };
  };
  const self = make(a, n.self, n.self6, 'ping');
  const responder = make(b, n.responder, n.responder6, 'responder');
  return {
    ...self,
    close() {
      for (const x of [self, responder]) {
        x.runner.close();
        x.stack.close();
      }
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runPing(args: readonly string[]): Promise<number> {
  const a = parsePingArgs(args);
  if (a.help) {
    console.log(PING_USAGE);
    return 0;
  }
  // A ref'd handle for the whole run: the stacks' own timers never keep Node alive.
  const keepAlive = setInterval(() => {}, 1 << 30);
  let stop = false;
  const onSigint = (): void => {
    stop = true;
  };
  process.on('SIGINT', onSigint);
  let closeNet: () => Promise<void> | void = () => {};
  try {
    let probe: Probe;
    let address: string;
    let header: string;
    if (a.via.kind === 'embedded') {
      const net = embeddedNet();
      closeNet = () => net.close();
      address = a.host.replace(/^\[|\]$/g, '');
      probe = icmpProbe(net.stack, net.runner, address, a.size, a.timeoutMs);
      header = `PING ${address} via the embedded virtual network (${a.family === 6 ? EMBEDDED_PING_NET.self6 : EMBEDDED_PING_NET.self} -> responder ${a.family === 6 ? EMBEDDED_PING_NET.responder6 : EMBEDDED_PING_NET.responder}): ${a.size} data bytes`;
    } else {
      // Bringing a TAP up (DHCP, DAD) takes seconds: a live status line meanwhile.
      const progress = new Progress({ label: 'ping' });
      let v: OpenedVia;
      try {
        progress.status(a.via.kind === 'tap' ? `bringing up our stack on ${a.via.ifname}` : `resolving ${a.host}`);
        v = await openVia(a.via, a.viaOptions, (line) => progress.log(line, process.stderr));
        closeNet = () => v.close();
        progress.status(`resolving ${a.host}`);
        address = await v.network.lookup(a.host, a.family !== undefined ? { family: a.family } : {});
      } finally {
        progress.done();
      }
      if (v.tap !== undefined) {
        probe = icmpProbe(v.tap.stack, v.tap.runner, address, a.size, a.timeoutMs);
        header = `PING ${a.host} (${address}) via ${v.describe}: ${a.size} data bytes`;
      } else {
        probe = tcpProbe(v, address, a.port, a.timeoutMs);
        header = `PING ${a.host} (${address}) port ${a.port}/tcp via ${v.describe}: TCP connect probes (no raw ICMP sockets in Node; --via tap:IF or embedded for ICMP)`;
      }
    }
    console.log(header);
    const tally = new Tally();
    const started = performance.now();
    for (let seq = 1; !stop && (a.count === 0 || seq <= a.count); seq++) {
      const t0 = performance.now();
      tally.sent++;
      const r = await probe(seq);
      console.log(r.line);
      if (r.rttMs !== undefined) {
        tally.received++;
        tally.rtts.push(r.rttMs);
      } else if (r.error === true) tally.errors++;
      if (a.count !== 0 && seq >= a.count) break;
      const wait = a.intervalMs - (performance.now() - t0);
      if (wait > 0 && !stop) await sleep(wait);
    }
    console.log(`\n${tally.summary(a.host, performance.now() - started)}`);
    return tally.received > 0 ? 0 : 1;
  } finally {
    process.off('SIGINT', onSigint);
    clearInterval(keepAlive);
    await closeNet();
  }
}
