/**
 * Conformance over PPP on a real pty pair: our PPP client against our PPP server. The client's
 * `PppLink` runs on the pty master (our addon), the server's on the slave opened through
 * serialport; CHAP authenticates the client, IPCP gives it 10.64.0.2 (the server is 10.64.0.1),
 * IPV6CP gives both link-local addresses, and once it is open each side gets a static global
 * address (fd00:64::1 server, fd00:64::2 client). The server stack runs the reference test server,
 * the client stack carries the suite's IoT Socket layer; the black-hole port is a SynFilter between
 * the client's link and its stack. Real time, real StackRunners.
 *
 * Four runs: IPv4 and IPv6, each over a clean line and with 1 % of the bytes corrupted both ways
 * (in bursts of up to 256 bytes that end with their frame: `ByteFaultInjector` on each sender's side); bad frames are
 * dropped by the FCS check and TCP recovers. The clean runs are captured (PPP_WITH_DIR) for
 * tshark; afterwards every run must have opened IPCP and IPV6CP on both sides, the clean ones
 * without a lost frame, the noisy ones with bad-FCS frames counted. The serialport side needs
 * the serialport poller fix in src/runtime/serial-port.ts (a lost wake-up stalled the server's writes for seconds).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startSockServer } from '../../src/apps/sockserver/index.ts';
import { createUserspaceBackend } from '../../src/backends/userspace/index.ts';
import { parseIp } from '../../src/base/ip-address.ts';
import { XorShiftRng } from '../../src/base/rand.ts';
import { ByteFaultInjector } from '../../src/link/byte-fault-injector.ts';
import type { ByteStream } from '../../src/link/byte-stream.ts';
import { attachPpp } from '../../src/link/ppp-attach.ts';
import { pppCaptureTap } from '../../src/link/ppp-capture.ts';
import { PppLink, type PppLinkStats } from '../../src/link/ppp-link.ts';
import { pcapFileSink } from '../../src/runtime/pcap-file.ts';
import { openPty } from '../../src/runtime/pty.ts';
import { openSerialPort } from '../../src/runtime/serial-port.ts';
import { StackRunner } from '../../src/runtime/stack-runner.ts';
import { systemScheduler } from '../../src/runtime/system-scheduler.ts';
import { IotSocketLayer } from '../../src/socket/iot-socket-layer.ts';
import { Network } from '../../src/socket/network.ts';
import type { PppEvent } from '../../src/stack/ppp/ppp-session.ts';
import { Stack } from '../../src/stack/stack.ts';
import { PPP_CLIENT_IP, PPP_PASSWORD, PPP_SERVER_IP, PPP_USER } from '../support/ppp-net.ts';
import { ptyUnavailable, skipWithoutPty } from '../support/pty.ts';
import { SynFilter } from '../support/syn-filter.ts';
import { assertCleanCapture, tsharkCounter } from '../support/tshark-count.ts';
import { skipWithoutTool } from '../support/system-tool.ts';
import type { ConformanceEnv } from './env.ts';
import { defineConformance } from './suite.ts';

const SERVER_IP6 = 'fd00:64::1';
const CLIENT_IP6 = 'fd00:64::2';
const OFFSET = 21000;
const CONNECT_TIMEOUT_MS = 3000;
/**
 * On the noisy line a SYN or SYN-ACK (60-100 bytes on the line) is lost about 0.3 % of the time
 * each way, and the run makes some 100 connects: as in userspace.test.ts, 7.5 s lets the SYNs at
 * 0, 1, 3 and 7 s through.
 */
const LOSSY_CONNECT_TIMEOUT_MS = 7500;
/** How long LCP, CHAP, IPCP and IPV6CP may take (restart timer 3 s: a few lost Configure-Requests on the noisy line). */
const UP_TIMEOUT_MS = 30_000;
/**
 * Frame loss each way on the noisy line, for the suite's UDP allowances: a burst of 256 corrupted
 * bytes starts at a byte with probability 1 % / 256 and ends with its frame (ByteFaultInjector bursts end with the write), so
 * a frame of L bytes on the line is lost with probability about L / 25 600: 1 % for the 200-byte
 * datagrams of the UDP burst case (about 240 bytes on the line), 6 % for full 1500-byte frames
 * (observed: 4-5 % of all frames each way). 3 % leaves room for the spread.
 */
const NOISY_LOSS_PCT = 3;
const NOISE = { corruptPct: 1, burstBytes: 256 } as const;
/**
 * Each link's transmit backlog while the stream asks to wait. The default 16 KiB on top of
 * serialport's 64 KiB tail-dropped some 400 frames a run each way in the bulk TCP cases (TCP
 * recovers), and the UDP burst case right after the chargen case lost most of its echoes behind
 * the chargen data still queued. TCP's windows bound what waits here; the clean line stays lossless.
 */
const TX_BACKLOG_BYTES = 1 << 20;
const CAPTURE_DIR = mkdtempSync(join(tmpdir(), 'iotnet-ppp-conformance-'));
const capture = (family: 4 | 6): string => join(CAPTURE_DIR, `ppp-conformance-ipv${family}.pcap`);

/** What a run leaves behind for the checks after it. */
interface RunRecord {
  readonly name: string;
  readonly noisy: boolean;
  clientEvents: PppEvent[];
  serverEvents: PppEvent[];
  client?: PppLinkStats;
  server?: PppLinkStats;
  corrupted: number;
  written: number;
  ms: number;
}
const runs: RunRecord[] = [];

/** Resolves once IPCP and IPV6CP are up on this link; rejects when it goes down first or after `ms`. */
function ncpsUp(link: PppLink, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let v4 = false, v6 = false;
    const timer = setTimeout(() => {
      off();
      reject(new Error(`IPCP ${v4 ? 'up' : 'not up'}, IPV6CP ${v6 ? 'up' : 'not up'} after ${ms} ms`));
    }, ms);
    const off = link.on((e) => {
      if (e.type === 'ipcp-up') v4 = true;
      if (e.type === 'ipv6cp-up') v6 = true;
      if (e.type === 'down' || (v4 && v6)) {
        clearTimeout(timer);
        off();
        if (e.type === 'down') reject(new Error(`PPP went down: ${e.reason}`));
        else resolve();
      }
    });
  });
}

/** One PPP end on a stream: the link, its stack (the link behind `wrap` when given), the runner. */
function pppEnd(stream: ByteStream, link: PppLink, name: string, seed: number, server: boolean, wrap?: (l: PppLink) => SynFilter) {
  const events: PppEvent[] = [];
  link.on((e) => events.push(e));
  const stack = new Stack({ rng: new XorShiftRng(seed), name });
  const attachment = attachPpp(stack, link, {
    defaultRoute: !server,
    routerSolicitations: 0,
    ...(wrap !== undefined ? { device: wrap(link) } : {}),
  });
  const runner = new StackRunner(stack, { scheduler: systemScheduler });
  return { stream, link, stack, attachment, runner, events };
}

if (ptyUnavailable() !== undefined) {
  describe('IoT Socket conformance: PPP client <-> PPP server over a pty pair', () => {
    it('needs a pty pair', (t) => {
      skipWithoutPty(t, 'the conformance suite over PPP');
    });
  });
} else {
  for (const family of [4, 6] as const) for (const noisy of [false, true]) {
    const name = `PPP client <-> PPP server over a pty pair, IPv${family}${noisy ? ', 1 % of the bytes corrupted both ways' : ''}`;
    const record: RunRecord = { name, noisy, clientEvents: [], serverEvents: [], corrupted: 0, written: 0, ms: 0 };
    runs.push(record);
    defineConformance({
      name,
      family,
      async setup(): Promise<ConformanceEnv> {
        const t0 = performance.now();
        const master = openPty();
        const slave = await openSerialPort(master.path, { baudRate: 921_600 });
        const seed = family * 10 + (noisy ? 1 : 0);
        // Line noise on both directions, each corrupted by its sender's side.
        const noise = noisy ? [new ByteFaultInjector(master, new XorShiftRng(seed * 7919), { ...NOISE, direction: 'tx' }), new ByteFaultInjector(slave, new XorShiftRng(seed * 7927), { ...NOISE, direction: 'tx' })] : [];
        const line: ByteStream = noise[0] ?? master;
        const serverLine: ByteStream = noise[1] ?? slave;
        const file = noisy ? undefined : pcapFileSink(capture(family));
        const clientLink = new PppLink(line, {
          scheduler: systemScheduler,
          txBacklogBytes: TX_BACKLOG_BYTES,
          rng: new XorShiftRng(seed * 10 + 1),
          credentials: { user: PPP_USER, password: PPP_PASSWORD },
          ...(file !== undefined ? { capture: pppCaptureTap({ clock: systemScheduler, sink: file.sink }) } : {}),
        });
        const serverLink = new PppLink(serverLine, {
          scheduler: systemScheduler,
          txBacklogBytes: TX_BACKLOG_BYTES,
          rng: new XorShiftRng(seed * 10 + 2),
          ipv4: { localAddress: PPP_SERVER_IP, peerAddress: PPP_CLIENT_IP, dnsServers: [PPP_SERVER_IP] },
          authenticate: { secrets: (user) => (user === PPP_USER ? PPP_PASSWORD : undefined), protocols: ['chap'], name: 'gateway' },
        });
        const blackHolePort = 5002 + OFFSET;
        let filter: SynFilter | undefined;
        const client = pppEnd(line, clientLink, 'ppp-client', seed * 100 + 10, false, (l) => (filter = new SynFilter(l, blackHolePort)));
        const server = pppEnd(serverLine, serverLink, 'ppp-server', seed * 100 + 20, true);
        record.clientEvents = client.events;
        record.serverEvents = server.events;
        const up = Promise.all([ncpsUp(clientLink, UP_TIMEOUT_MS), ncpsUp(serverLink, UP_TIMEOUT_MS)]);
        serverLink.open();
        clientLink.open();
        await up;
        // Global addresses on top of the negotiated link-local ones (the suite needs a scope-free server address).
        server.stack.addIpv6Address(server.attachment.ifIndex, SERVER_IP6, 64);
        client.stack.addIpv6Address(client.attachment.ifIndex, CLIENT_IP6, 64);

        const serverBackend = createUserspaceBackend(server.stack, server.runner, { rng: new XorShiftRng(seed + 33), dns: { servers: [] } });
        const serverNet = new Network(serverBackend);
        const sockServer = await startSockServer(serverNet, { portOffset: OFFSET });
        assert.ok(sockServer.ipv6, `the server listens on IPv6 too (${String(sockServer.ipv6Error)})`);
        const connectTimeoutMs = noisy ? LOSSY_CONNECT_TIMEOUT_MS : CONNECT_TIMEOUT_MS;
        const backend = createUserspaceBackend(client.stack, client.runner, {
          rng: new XorShiftRng(seed + 44),
          connectTimeoutMs,
          hosts: { 'sockserver.test': [PPP_SERVER_IP, SERVER_IP6] },
          dns: { servers: [] },
        });
        const layer = new IotSocketLayer(backend);
        const setupMs = performance.now() - t0;
        return {
          layer,
          caps: backend.caps,
          serverIp4: parseIp(PPP_SERVER_IP) as Uint8Array,
          serverIp6: parseIp(SERVER_IP6) as Uint8Array,
          ports: sockServer.ports,
          listenPorts: [OFFSET + 2000, OFFSET + 2001],
          blackHole: true,
          dns: { name: 'sockserver.test', ip4: parseIp(PPP_SERVER_IP) as Uint8Array, ip6: parseIp(SERVER_IP6) as Uint8Array, missing: 'missing.sockserver.test' },
          connectTimeoutMs,
          lossPct: noisy ? NOISY_LOSS_PCT : 0,
          async teardown() {
            record.client = clientLink.stats();
            record.server = serverLink.stats();
            record.corrupted = noise.reduce((n, f) => n + f.stats.corrupted, 0);
            record.written = noise.reduce((n, f) => n + f.stats.seen, 0);
            record.ms = performance.now() - t0;
            record.clientEvents = [...client.events];
            record.serverEvents = [...server.events];
            const drops = (st: Stack): string => Object.entries(st.stats.drops).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(', ');
            process.stdout.write(`# ${name}: rx queue full client ${record.client.droppedQueueFull} server ${record.server.droppedQueueFull}; stack drops client {${drops(client.stack)}} server {${drops(server.stack)}}; udp client ${JSON.stringify(client.stack.stats.udp)} server ${JSON.stringify(server.stack.stats.udp)}\n`);
            process.stdout.write(`# ${name}: up in ${setupMs.toFixed(0)} ms, ${(record.ms / 1000).toFixed(1)} s in all, SYNs black-holed ${filter?.dropped ?? 0}\n`);
            await layer.closeAll();
            await sockServer.close();
            await serverNet.close();
            await backend.close();
            await serverBackend.close();
            for (const e of [client, server]) {
              e.runner.close();
              e.attachment.detach();
              e.link.close();
              e.stack.close();
            }
            slave.close();
            master.close();
            await file?.close();
          },
        };
      },
    });
  }

  describe('after the PPP conformance runs', () => {
    after(() => rmSync(CAPTURE_DIR, { recursive: true, force: true }));
    for (const run of runs) it(`${run.name}: IPCP and IPV6CP opened on both sides${run.noisy ? ', bad-FCS frames dropped and counted' : ', no bad frames'}`, () => {
      for (const [side, events] of [['client', run.clientEvents], ['server', run.serverEvents]] as const) {
        assert.ok(events.some((e) => e.type === 'ipcp-up'), `${side}: IPCP opened`);
        assert.ok(events.some((e) => e.type === 'ipv6cp-up'), `${side}: IPV6CP opened`);
        assert.ok(!events.some((e) => e.type === 'down' || e.type === 'lcp-down'), `${side}: the link stayed up during the run`);
      }
      const c = run.client, s = run.server;
      assert.ok(c !== undefined && s !== undefined, 'the run recorded its link counters');
      // Frames each way: written to the line by one side (the session's frames less those its full
      // backlog dropped), delivered whole by the other side's decoder.
      const sentCs = c.session.framesOut - c.droppedBacklog, sentSc = s.session.framesOut - s.droppedBacklog;
      const lossCs = 1 - s.decoder.frames / sentCs;
      const lossSc = 1 - c.decoder.frames / sentSc;
      const bad = c.decoder.badFcs + s.decoder.badFcs;
      process.stdout.write(`# ${run.name}: frames client->server ${sentCs} (lost ${(lossCs * 100).toFixed(2)} %), server->client ${sentSc} (lost ${(lossSc * 100).toFixed(2)} %); bad FCS client ${c.decoder.badFcs} server ${s.decoder.badFcs}, runts ${c.decoder.runts + s.decoder.runts}, aborts ${c.decoder.aborts + s.decoder.aborts}; backlog drops client ${c.droppedBacklog} server ${s.droppedBacklog}; bytes corrupted ${run.corrupted}${run.written > 0 ? ` of ${run.written} (${((100 * run.corrupted) / run.written).toFixed(2)} %)` : ''}; malformed ${c.session.malformed + s.session.malformed}\n`);
      if (run.noisy) {
        assert.ok(run.corrupted > 10_000, `bytes corrupted: ${run.corrupted}`);
        assert.ok(c.decoder.badFcs > 10 && s.decoder.badFcs > 10, `bad-FCS frames: client ${c.decoder.badFcs}, server ${s.decoder.badFcs}`);
      } else {
        assert.equal(bad, 0, 'bad-FCS frames on a clean line');
        assert.equal(c.droppedBacklog + s.droppedBacklog, 0, 'frames dropped by a full transmit backlog');
        // Frames still on the line when the counters were read are the only difference.
        assert.ok(Math.abs(sentCs - s.decoder.frames) <= 3, `client->server: ${s.decoder.frames} of ${sentCs} frames arrived`);
        assert.ok(Math.abs(sentSc - c.decoder.frames) <= 3, `server->client: ${c.decoder.frames} of ${sentSc} frames arrived`);
        assert.equal(c.session.malformed + s.session.malformed, 0, 'malformed frames');
      }
    });

    for (const family of [4, 6] as const) it(`IPv${family} capture of the clean run: tshark reads it with no malformed packets, bad checksums or expert errors`, (t) => {
      if (skipWithoutTool(t, 'tshark', 'tshark', 'the PPP conformance capture')) return;
      const count = tsharkCounter(capture(family));
      const frames = count('frame');
      assert.ok(frames > 2_000, `${frames} frames captured`);
      assert.ok(count('lcp') > 0 && count('chap') > 0 && count('ipcp') > 0 && count('ipv6cp') > 0, 'LCP, CHAP, IPCP and IPV6CP in the capture');
      assert.ok(count(family === 6 ? 'ipv6 && (tcp || udp)' : 'ip && (tcp || udp)') > 2_000, `the run carried its TCP and UDP over IPv${family}`);
      assertCleanCapture(count);
      process.stdout.write(`# pcap IPv${family}: ${frames} PPP frames checked by tshark\n`);
    });
  });
}
