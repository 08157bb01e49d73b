/**
 * `iotnet demo`: the IoT deployment scenario (default; `npm start`), or the sockets scenario
 * (`--scenario sockets`: the test server through both APIs, on the embedded network or the host
 * stack).
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { DemoResult, DemoStep } from '../apps/demo/client-steps.ts';
import { runEmbeddedDemo } from '../apps/demo/embedded-demo.ts';
import { runHostDemo } from '../apps/demo/host-demo.ts';
import { IotDemo, type DemoBrokerChoice, type IotDemoOptions } from '../apps/demo/iot-demo.ts';
import { startTerminalView } from '../apps/demo/terminal-view.ts';
import { startDashboard, type Dashboard } from '../apps/demo-ui/dashboard-server.ts';
import { forEachOption, intArg, secondsArg } from './args.ts';
import { UsageError } from './usage-error.ts';

export const DEMO_USAGE = `Usage: iotnet demo [options]

--scenario iot (default, what npm start runs): a small IoT deployment in this process, in
    real time; no root, nothing to install. A gateway (userspace stack on a virtual switch)
    runs a DHCP server, a DNS server (zone iot.test) and an MQTT broker behind TLS at
    broker.iot.test:8883 (mosquitto when installed, else aedes in process). Four devices, each
    on another stack, get their addresses, resolve the broker, connect over TLS (verifying a
    demo-only CA), publish telemetry (QoS 1) and receive commands:
      sensor-eth    userspace stack on the switch, DHCP
      sensor-wifi   ESP-AT WiFi simulator with an Ethernet fallback under a mux; midway the
                    access point fails (failover to Ethernet) and returns (fail-back)
      sensor-cell   Quectel cellular simulator, PPP dial-up through a carrier
      sensor-mesh   6LoWPAN node two radio hops (250 kbit/s) from a border router
    A live view shows interfaces, addresses, counters and events (a table on a terminal, one
    line per event otherwise), then a summary: messages sent and received, none lost, the
    failover times, and a pcap per link. Exits 0 when no message was lost and everything
    happened; 1 otherwise.
--scenario sockets: a client talking to the reference test server through the IoT Socket
    API and the idiomatic API: on an embedded virtual network (DHCP, DNS, two userspace
    stacks; --stack embedded, the default) or on the host stack (--stack host, loopback).
    Exits 0 when every step passed.

Options:
  --scenario S      iot (default) or sockets
  --pcap-dir DIR    iot: where the pcaps go (created if missing; default a new temporary
                    directory, printed in the summary)
  --broker B        iot: auto (default: mosquitto when installed, else aedes), aedes or
                    mosquitto
  --duration S      iot: seconds the devices publish (default 16; 12 to 600)
  --ui              iot: also serve the web dashboard on localhost (the topology, each
                    node's interfaces and status, message and byte rates, the event
                    timeline, the pcaps to download) and print its address
  --ui-port N       iot: the dashboard's port (default 0: a free one)
  --ui-linger S     iot: keep serving the dashboard S seconds after the run (default: until
                    Ctrl-C on a terminal, 0 otherwise)
  --stack S         sockets: embedded (default) or host; --stack alone selects the sockets
                    scenario
  --port-offset K   sockets: ports of the test server: upstream ports + K (default: 0 on
                    the embedded network, a free random offset on the host stack)
  -h, --help        this help`;

interface Parsed {
  scenario: 'iot' | 'sockets' | undefined;
  stack: 'embedded' | 'host' | undefined;
  portOffset: number | undefined;
  pcapDir: string | undefined;
  broker: DemoBrokerChoice | undefined;
  durationMs: number | undefined;
  ui: boolean;
  uiPort: number | undefined;
  uiLingerS: number | undefined;
  help: boolean;
}

function parse(args: readonly string[]): Parsed {
  const p: Parsed = { scenario: undefined, stack: undefined, portOffset: undefined, pcapDir: undefined, broker: undefined, durationMs: undefined, ui: false, uiPort: undefined, uiLingerS: undefined, help: false };
  forEachOption(args, (name, value, arg) => {
    switch (name) {
      case '-h':
      case '--help':
        p.help = true;
        return;
      case '--scenario': {
        const v = value();
        if (v !== 'iot' && v !== 'sockets') throw new UsageError(`--scenario needs 'iot' or 'sockets', got '${v}'`);
        p.scenario = v;
        return;
      }
      case '--stack': {
        const v = value();
        if (v !== 'embedded' && v !== 'host') throw new UsageError(`--stack needs 'embedded' or 'host', got '${v}'`);
        p.stack = v;
        return;
      }
      case '--port-offset': {
        const v = value();
        if (!/^\d+$/.test(v) || Number(v) > 60000) throw new UsageError(`--port-offset needs a number 0..60000, got '${v}'`);
        p.portOffset = Number(v);
        return;
      }
      case '--pcap-dir': {
        const v = value();
        if (v.trim() === '') throw new UsageError('--pcap-dir needs a directory');
        p.pcapDir = v;
        return;
      }
      case '--broker': {
        const v = value();
        if (v !== 'auto' && v !== 'aedes' && v !== 'mosquitto') throw new UsageError(`--broker needs 'auto', 'aedes' or 'mosquitto', got '${v}'`);
        p.broker = v;
        return;
      }
      case '--duration':
        p.durationMs = secondsArg('--duration', value(), 12, 600);
        return;
      case '--ui':
        p.ui = true;
        return;
      case '--ui-port':
        p.uiPort = intArg('--ui-port', value(), 0, 65535);
        return;
      case '--ui-linger':
        p.uiLingerS = intArg('--ui-linger', value(), 0, 86400);
        return;
      default:
        throw new UsageError(`unknown option '${arg}'`);
    }
  });
  const sockets = p.scenario === 'sockets' || (p.scenario === undefined && (p.stack !== undefined || p.portOffset !== undefined));
  const iotOnly = [p.pcapDir !== undefined && '--pcap-dir', p.broker !== undefined && '--broker', p.durationMs !== undefined && '--duration', p.ui && '--ui',
    p.uiPort !== undefined && '--ui-port', p.uiLingerS !== undefined && '--ui-linger'].filter((x) => x !== false);
  if (!p.ui && (p.uiPort !== undefined || p.uiLingerS !== undefined)) throw new UsageError('--ui-port and --ui-linger go with --ui');
  const socketsOnly = [p.stack !== undefined && '--stack', p.portOffset !== undefined && '--port-offset'].filter((x) => x !== false);
  if (sockets && iotOnly.length > 0) throw new UsageError(`${iotOnly.join(', ')}: only for --scenario iot`);
  if (!sockets && socketsOnly.length > 0) throw new UsageError(`${socketsOnly.join(', ')}: only for --scenario sockets`);
  p.scenario = sockets ? 'sockets' : 'iot';
  return p;
}

export async function runDemo(args: readonly string[]): Promise<number> {
  const p = parse(args);
  if (p.help) {
    console.log(DEMO_USAGE);
    return 0;
  }
  if (p.scenario === 'sockets') return runSockets(p.stack ?? 'embedded', p.portOffset);

  let pcapDir: string;
  try {
    if (p.pcapDir !== undefined) {
      pcapDir = resolve(p.pcapDir);
      mkdirSync(pcapDir, { recursive: true });
    } else {
      pcapDir = mkdtempSync(join(tmpdir(), 'iotnet-demo-'));
    }
  } catch (e) {
    throw new UsageError(`--pcap-dir: cannot use '${p.pcapDir ?? tmpdir()}': ${e instanceof Error ? e.message : String(e)}`);
  }
  const options: IotDemoOptions = { pcapDir, ...(p.broker !== undefined ? { broker: p.broker } : {}), ...(p.durationMs !== undefined ? { durationMs: p.durationMs } : {}) };
  const demo = new IotDemo(options);
  const out = process.stdout;
  out.write('iotnet demo: an IoT deployment on an in-process virtual network (real time; no root, nothing to install)\n'
    + 'a gateway (DHCP, DNS, MQTT broker over TLS) and four devices on four stacks: Ethernet, WiFi (ESP-AT) with a fallback, cellular (PPP), 6LoWPAN\n\n');
  let dash: Dashboard | undefined;
  if (p.ui) {
    try {
      dash = await startDashboard(demo.live, { port: p.uiPort ?? 0 });
    } catch (e) {
      console.error(`iotnet demo: --ui: cannot serve the dashboard on port ${p.uiPort ?? 0}: ${e instanceof Error ? e.message : String(e)}`);
      return 1;
    }
    out.write(`dashboard: ${dash.url}  (open it in a browser)\n\n`);
  }
  const view = startTerminalView(demo.live, out);
  const summary = await demo.run();
  await view.done;
  if (dash !== undefined) {
    const lingerS = p.uiLingerS ?? (out.isTTY ? Infinity : 0);
    if (lingerS > 0) {
      out.write(`\ndashboard still at ${dash.url}${Number.isFinite(lingerS) ? ` for ${lingerS} s` : ''}; Ctrl-C to quit\n`);
      await new Promise<void>((resolve) => {
        const done = (): void => {
          process.off('SIGINT', done);
          clearTimeout(timer);
          resolve();
        };
        const timer = Number.isFinite(lingerS) ? setTimeout(done, lingerS * 1000) : undefined;
        process.on('SIGINT', done);
      });
    }
    await dash.close();
  }
  return summary.ok ? 0 : 1;
}

async function runSockets(stack: 'embedded' | 'host', portOffset: number | undefined): Promise<number> {
  const report = (s: DemoStep): void => console.log(`  ${s.ok ? '\u2714' : '\u2718'} ${s.title.padEnd(52)} ${s.detail}`);
  const t0 = performance.now();
  let result: DemoResult;
  if (stack === 'embedded') {
    console.log('iotnet demo: an embedded virtual network (two userspace stacks on a virtual switch, real time):');
    console.log('a device gets an address by DHCP, finds the test server by DNS and talks to it through both APIs\n');
    result = await runEmbeddedDemo({ report, ...(portOffset !== undefined ? { portOffset } : {}) });
  } else {
    console.log('iotnet demo: the host stack talking to the reference test server\n');
    result = await runHostDemo({ report, ...(portOffset !== undefined ? { portOffset } : {}) });
  }
  const failed = result.steps.filter((s) => !s.ok).length;
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`\n${result.steps.length - failed} of ${result.steps.length} steps passed in ${secs} s${failed ? ` (${failed} failed)` : ''}`);
  return result.ok ? 0 : 1;
}
