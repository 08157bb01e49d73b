/**
 * The IoT deployment demo (`npm start`, `iotnet demo`): a small deployment in this process, in
 * real time on the system scheduler; no root, nothing to install.
 *
 * ```
 *  LAN: a VirtualSwitch, 192.168.7.0/24 and 2001:db8:2::/64
 *  ├── gateway        .1, 2001:db8:2::1: DHCPv4 server, DNS server (zone iot.test), MQTT broker
 *  │                  behind TLS at broker.iot.test:8883 (aedes in process, or mosquitto relayed)
 *  ├── sensor-eth     userspace stack, DHCP
 *  ├── sensor-wifi    eth0: userspace stack, DHCP (the fallback)  ┐ one Mux:
 *  ├── access point   .2: the ESP-AT simulator's sockets          │ WiFi first,
 *  │     ┆ WiFi (simulated): sensor-wifi wlan0, ESP-AT driver     ┘ then Ethernet
 *  ├── carrier        .3, routes 10.64.0.0/24 (PPP calls)
 *  │     ┆ serial line: Quectel BG96 simulator, PPP: sensor-cell cell0, 10.64.0.2
 *  └── border router  2001:db8:2::2, 6LoWPAN router for 2001:db8:1::/64
 *        ┆ IEEE 802.15.4 radio (250 kbit/s): a relay, then sensor-mesh mesh0 (2 hops)
 * ```
 *
 * Each device runs on a different stack, gets its address (DHCPv4, the ESP-AT module's join,
 * PPP IPCP, 6LoWPAN-ND registration), resolves `broker.iot.test` through the gateway's DNS
 * server, connects with iotnet's TLS client (verifying the demo CA's broker certificate and its
 * name), publishes sequence-numbered telemetry (QoS 1, persistent session) and receives the
 * commands the gateway publishes. Midway the WiFi access point fails: the device's `Mux` moves
 * it to Ethernet; when the AP is back, to WiFi again; both moves are timed from the fault (or
 * the recovery) to the first telemetry message the gateway receives through the new interface.
 *
 * The run fails (`summary.ok` false) when a telemetry message is lost, a command does not
 * arrive, a device does not come up, or a move is not seen. Nothing is written to the console:
 * viewers follow `live` (see demo-model.ts; terminal-view.ts draws it on a terminal).
 */
import { EspAtSim } from '../sim/esp-at/esp-at-sim.ts';
import { meshNet, type MeshNet } from '../sim/mesh-net.ts';
import { pppCarrier } from '../sim/ppp-carrier.ts';
import { QuectelSim } from '../sim/quectel/quectel-sim.ts';
import { startDnsServer, type DnsRecord, type DnsServer } from '../dns-server/index.ts';
import { createEspAt } from '../../backends/esp-at/index.ts';
import { Mux } from '../../backends/mux/mux.ts';
import { CellularInterface } from '../../backends/netif/cellular-interface.ts';
import { EthernetInterface } from '../../backends/netif/ethernet-interface.ts';
import { MeshInterface } from '../../backends/netif/mesh-interface.ts';
import type { NetworkInterface } from '../../backends/netif/network-interface.ts';
import { userspaceHost, type UserspaceHost } from '../../backends/netif/userspace-host.ts';
import { WiFiInterface } from '../../backends/netif/wifi-interface.ts';
import type { Rng } from '../../base/rand.ts';
import type { CancelTimer, Scheduler } from '../../base/time.ts';
import { MqttClient, type MqttClientOptions } from '../../clients/mqtt/index.ts';
import { createBytePipe } from '../../link/byte-pipe.ts';
import { PcapCapture } from '../../link/pcap-writer.ts';
import { pppCaptureTap } from '../../link/ppp-capture.ts';
import { RadioLink } from '../../link/radio-link.ts';
import type { RadioPort } from '../../link/radio-medium.ts';
import { VirtualSwitch, type SwitchPort } from '../../link/virtual-switch.ts';
import type { Link } from '../../link/link.ts';
import { CryptoRng } from '../../runtime/crypto-rng.ts';
import { pcapFileSink, type FileSink } from '../../runtime/pcap-file.ts';
import { systemScheduler } from '../../runtime/system-scheduler.ts';
import { Network } from '../../socket/network.ts';
import type { TcpServer } from '../../socket/tcp-server.ts';
import { Dhcp4Server } from '../../stack/dhcp/dhcp4-server.ts';
import { Stack, toIpv6 } from '../../stack/stack.ts';
import { DemoBroker, type BrokerConnection, type DemoBrokerChoice } from './demo-broker.ts';
import { DemoLiveModel } from './demo-live.ts';
import type { DemoCounters, DemoFailover, DemoInterface, DemoLink, DemoLive, DemoMedium, DemoNode, DemoNodeRole, DemoSummary } from './demo-model.ts';
import { DEMO_CA_PEM, DEMO_BROKER_NAME } from './demo-pki.ts';
import { DEMO_PROBE_TIMING } from './embedded-demo.ts';
import { macToString } from '../../wire/ethernet.ts';

export type { DemoBrokerChoice } from './demo-broker.ts';

/** Settings of `IotDemo` (all optional). */
export interface IotDemoOptions {
  /** `auto` (default): mosquitto when installed, else aedes in process. */
  readonly broker?: DemoBrokerChoice | undefined;
  /** Write one pcap per link into this (existing) directory; none when absent. */
  readonly pcapDir?: string | undefined;
  /** How long the devices publish, ms (default 16,000; at least 12,000: the AP fails and returns in it). */
  readonly durationMs?: number | undefined;
  /** Telemetry period of each device, ms (default 250). */
  readonly telemetryIntervalMs?: number | undefined;
  /** The gateway sends each device a command this often, ms (default 1000). */
  readonly commandIntervalMs?: number | undefined;
  /** The 802.15.4 channel's bit rate (default 250,000, the 2.4 GHz O-QPSK PHY's). */
  readonly radioBitrate?: number | undefined;
  /** The fail-back hold of the WiFi device's mux, ms (default 2000). */
  readonly failbackHoldMs?: number | undefined;
  /** Clock and timers (default: `systemScheduler`; TLS and the broker run in real time, so keep it a real-time one). */
  readonly scheduler?: Scheduler | undefined;
}

/** The plan of the virtual network. */
export const IOT_DEMO_NET = Object.freeze({
  lan: '192.168.7.0/24',
  gateway: '192.168.7.1',
  accessPoint: '192.168.7.2',
  carrier: '192.168.7.3',
  pool: Object.freeze({ start: '192.168.7.100', end: '192.168.7.199' }),
  lan6: '2001:db8:2::/64',
  gateway6: '2001:db8:2::1',
  borderRouter6: '2001:db8:2::2',
  mesh6: '2001:db8:1::/64',
  cellular: '10.64.0.0/24',
  cellAddress: '10.64.0.2',
  wifiStation: '192.168.4.20',
  domain: 'iot.test',
  broker: DEMO_BROKER_NAME,
  brokerPort: 8883,
});

const AP = { ssid: 'iot-demo', password: 'demo-only-passphrase', bssid: '02:00:00:0a:00:01', rssi: -48, channel: 6, ecn: 3 };

const ZONE: readonly DnsRecord[] = [
  { name: 'broker', type: 'A', data: IOT_DEMO_NET.gateway },
  { name: 'broker', type: 'AAAA', data: IOT_DEMO_NET.gateway6 },
  { name: 'gateway', type: 'A', data: IOT_DEMO_NET.gateway },
  { name: 'gateway', type: 'AAAA', data: IOT_DEMO_NET.gateway6 },
];

type DeviceId = 'eth-dev' | 'wifi-dev' | 'cell-dev' | 'mesh-dev';

interface IfaceView {
  readonly id: string;
  readonly name: string;
  readonly medium: DemoMedium;
  view(): Pick<DemoInterface, 'status' | 'reason' | 'addresses' | 'active'>;
  /** The DNS servers the interface has now. */
  dns(): readonly string[];
}

interface NodeView {
  readonly id: string;
  readonly label: string;
  readonly role: DemoNodeRole;
  readonly stack: string;
  readonly ifaces: IfaceView[];
  counters(): DemoCounters;
  state: string;
}

interface Device {
  readonly id: DeviceId;
  readonly label: string;
  readonly node: NodeView;
  network: Network | undefined;
  client: MqttClient | undefined;
  /** Telemetry published / acknowledged (PUBACK). */
  published: number;
  acked: number;
  unacked: Set<Promise<void>>;
  /** Telemetry the gateway's subscriber got: unique sequence numbers, and all copies. */
  readonly delivered: Set<number>;
  copies: number;
  readonly commands: Set<number>;
  commandsSent: number;
  connects: number;
}

/** A pcap file shared by several captures (one global header). */
class CaptureFile {
  readonly path: string;
  readonly #file: FileSink;
  #header = false;
  records = 0;

  constructor(path: string) {
    this.path = path;
    this.#file = pcapFileSink(path);
  }

  /** A sink for one capture: its global header goes out only if it is the file's first. */
  sink(): (chunk: Uint8Array) => void {
    let first = true;
    return (chunk) => {
      if (first) {
        first = false;
        if (this.#header) return;
        this.#header = true;
      } else {
        this.records++;
      }
      this.#file.sink(chunk);
    };
  }

  close(): Promise<void> {
    return this.#file.close();
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function sleep(sched: Scheduler, ms: number): Promise<void> {
  return new Promise((resolve) => sched.setTimer(ms, resolve));
}

/** `p`, or undefined after `ms`. */
function within<T>(sched: Scheduler, p: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const cancel = sched.setTimer(ms, () => resolve(undefined));
    p.then((v) => {
      cancel();
      resolve(v);
    }, (e: unknown) => {
      cancel();
      reject(e instanceof Error ? e : new Error(String(e)));
    });
  });
}

/** Polls `ok` every 50 ms until it holds or `ms` passed; true when it held. */
async function waitUntil(sched: Scheduler, ok: () => boolean, ms: number): Promise<boolean> {
  const end = sched.now() + ms;
  while (!ok()) {
    if (sched.now() >= end) return false;
    await sleep(sched, 50);
  }
  return true;
}

function ifaceOf(id: string, name: string, medium: DemoMedium, nif: () => NetworkInterface | undefined, active: () => boolean, reason: () => string): IfaceView {
  return {
    id, name, medium,
    dns: () => nif()?.addresses.dnsServers ?? [],
    view: () => {
      const n = nif();
      if (n === undefined) return { status: 'disconnected', reason: 'not started', addresses: [], active: false };
      const a = n.addresses;
      return {
        status: n.status,
        reason: reason(),
        addresses: [...(a.ipv4 !== undefined ? [`${a.ipv4}/${a.prefixLen ?? 32}`] : []), ...a.ipv6.filter((x) => !x.startsWith('fe80:'))],
        active: n.status !== 'disconnected' && active(),
      };
    },
  };
}

function staticIface(id: string, name: string, medium: DemoMedium, addresses: readonly string[], up: () => boolean, reason: string): IfaceView {
  return { id, name, medium, dns: () => [], view: () => ({ status: up() ? 'global-up' : 'disconnected', reason: up() ? reason : 'down', addresses, active: up() }) };
}

/**
 * The scenario. Make it, hand `live` to viewers, then `run()`:
 *
 * ```ts
 * const demo = new IotDemo({ pcapDir });
 * const view = startTerminalView(demo.live, process.stdout);
 * const summary = await demo.run();
 * ```
 */
export class IotDemo {
  readonly #o: { [K in Exclude<keyof IotDemoOptions, 'pcapDir'>]-?: Exclude<IotDemoOptions[K], undefined> } & { pcapDir: string | undefined };
  readonly #sched: Scheduler;
  readonly #live: DemoLiveModel;
  readonly #nodes: NodeView[] = [];
  readonly #links: { id: string; medium: DemoMedium; a: string; b: string; up: () => boolean; pcap: () => string | undefined; frames: () => number }[] = [];
  readonly #devices = new Map<DeviceId, Device>();
  readonly #reasons = new Map<string, string>();
  readonly #problems: string[] = [];
  readonly #failovers: DemoFailover[] = [];
  readonly #closers: { what: string; fn: () => unknown; stage: number }[] = [];
  readonly #timers = new Set<CancelTimer>();
  #ran = false;
  #publishing = false;
  #apUp = true;
  #marks: { apDown?: number; apUp?: number } = {};
  #commandsSent = 0;

  constructor(options: IotDemoOptions = {}) {
    const durationMs = Math.max(12_000, options.durationMs ?? 16_000);
    this.#o = {
      broker: options.broker ?? 'auto',
      pcapDir: options.pcapDir,
      durationMs,
      telemetryIntervalMs: Math.max(20, options.telemetryIntervalMs ?? 250),
      commandIntervalMs: Math.max(100, options.commandIntervalMs ?? 1000),
      radioBitrate: options.radioBitrate ?? 250_000,
      failbackHoldMs: options.failbackHoldMs ?? 2000,
      scheduler: options.scheduler ?? systemScheduler,
    };
    this.#sched = this.#o.scheduler;
    this.#live = new DemoLiveModel(this.#sched, () => this.#picture());
  }

  /** What viewers follow (the terminal view, the web dashboard). */
  get live(): DemoLive {
    return this.#live;
  }

  /** Runs the scenario once; resolves with the summary (never rejects: failures are in `problems`). */
  async run(): Promise<DemoSummary> {
    if (this.#ran) throw new Error('IotDemo.run: a demo runs once');
    this.#ran = true;
    const t0 = this.#sched.now();
    const ticker = (): void => {
      this.#live.tick();
      this.#timers.add(this.#sched.setTimer(250, ticker));
    };
    ticker();
    const pcaps: { link: string; path: string }[] = [];
    try {
      await this.#scenario(pcaps);
    } catch (e) {
      this.#problem(`unexpected failure: ${errorText(e)}`);
    } finally {
      this.#publishing = false;
      this.#live.setPhase('closing', 'closing everything');
      await this.#shutdown();
    }
    for (const c of this.#timers) c();
    this.#timers.clear();
    const summary = this.#summary(this.#sched.now() - t0, pcaps);
    this.#live.finish(summary);
    return summary;
  }

  #problem(text: string): void {
    this.#problems.push(text);
    this.#live.event('error', undefined, text);
  }

  /** Registers what `#shutdown` closes; higher stages first (3 device clients, 2 devices, 1 infrastructure, 0 captures). */
  #closer(what: string, fn: () => unknown, stage: 0 | 1 | 2 | 3 = 1): void {
    this.#closers.push({ what, fn, stage });
  }

  /**
   * Closes everything: device clients first, then the devices' interfaces and the simulators
   * (together: a PPP hang-up takes seconds), then the infrastructure, then the captures.
   */
  async #shutdown(): Promise<void> {
    const stages = [...new Set(this.#closers.map((c) => c.stage))].sort((a, b) => b - a);
    for (const stage of stages) {
      await Promise.all(this.#closers.filter((c) => c.stage === stage).reverse().map(async ({ what, fn }) => {
        try {
          if (await within(this.#sched, Promise.resolve().then(fn).then(() => true), 10_000) === undefined) this.#live.event('error', undefined, `closing ${what}: still busy after 10 s`);
        } catch (e) {
          this.#live.event('error', undefined, `closing ${what}: ${errorText(e)}`);
        }
      }));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The picture

  #picture(): { nodes: readonly DemoNode[]; links: readonly DemoLink[] } {
    const nodes = this.#nodes.map((n): DemoNode => ({
      id: n.id, label: n.label, role: n.role, stack: n.stack, state: n.state, counters: n.counters(),
      interfaces: n.ifaces.map((i) => ({ id: i.id, name: i.name, medium: i.medium, ...i.view() })),
    }));
    const links = this.#links.map((l): DemoLink => ({ id: l.id, medium: l.medium, a: l.a, b: l.b, up: l.up(), pcap: l.pcap(), frames: l.frames() }));
    return { nodes, links };
  }

  #statusEvents(node: string, ifaceId: string, nif: NetworkInterface): void {
    let lastAddr = '';
    nif.on('status', (e) => {
      this.#reasons.set(ifaceId, e.reason);
      this.#live.event('status', node, `${nif.name} ${e.status} (${e.reason})${e.error !== undefined ? `: ${e.error.message}` : ''}`);
      const a = nif.addresses;
      const text = [a.ipv4 !== undefined ? `${a.ipv4}/${a.prefixLen ?? 32}` : undefined, ...a.ipv6.filter((x) => !x.startsWith('fe80:'))].filter((x) => x !== undefined).join(', ');
      if (text !== '' && text !== lastAddr && e.status === 'global-up') {
        lastAddr = text;
        const extra = [a.gateway !== undefined ? `gateway ${a.gateway}` : '', a.dnsServers.length > 0 ? `DNS ${a.dnsServers.join(', ')}` : ''].filter((x) => x !== '').join(', ');
        this.#live.event('address', node, `${nif.name} ${text}${extra !== '' ? ` (${extra})` : ''}`);
      }
    });
  }

  // ---------------------------------------------------------------------------------------------
  // The scenario

  async #scenario(pcaps: { link: string; path: string }[]): Promise<void> {
    const sched = this.#sched;
    const o = this.#o;
    const N = IOT_DEMO_NET;
    const rng: Rng = new CryptoRng();
    this.#live.setPhase('starting', 'building the network: gateway, access point, carrier and border router on a virtual switch');

    // ---- Captures ---------------------------------------------------------------------------
    const files = new Map<string, CaptureFile>();
    const file = (link: string): CaptureFile | undefined => {
      if (o.pcapDir === undefined) return undefined;
      let f = files.get(link);
      if (f === undefined) {
        f = new CaptureFile(`${o.pcapDir.replace(/\/+$/, '')}/${link}.pcap`);
        files.set(link, f);
        pcaps.push({ link, path: f.path });
        const ff = f;
        this.#closer(`${link}.pcap`, () => ff.close(), 0);
      }
      return f;
    };
    const lanFile = file('lan');
    const wifiFile = file('wifi');
    const pppFile = file('ppp');
    const radioFile = file('radio');
    /** A LAN station's port: everything it sends goes into lan.pcap (so each frame once). */
    const lanPort = (sw: VirtualSwitch): { port: SwitchPort; link: Link } => {
      const port = sw.port();
      const link = lanFile !== undefined ? new PcapCapture(port, { clock: sched, sink: lanFile.sink(), direction: 'tx' }) : port;
      return { port, link };
    };

    // ---- Gateway ------------------------------------------------------------------------------
    const sw = new VirtualSwitch();
    const gwLan = lanPort(sw);
    const gw: UserspaceHost = userspaceHost({ name: 'gateway', scheduler: sched, rng });
    const gwIf = gw.stack.addInterface(gwLan.link, {
      name: 'eth0', mac: '02:00:c0:a8:07:01', ipv4: { address: N.gateway, prefixLen: 24 },
      ipv6: { autoconf: false, dadTransmits: 0, addresses: [{ address: toIpv6(N.gateway6), prefixLen: 64 }], gateway: toIpv6(N.borderRouter6) },
    });
    // The cellular calls' addresses are behind the carrier.
    gw.stack.addRoute({ network: '10.64.0.0', prefixLen: 24, gateway: N.carrier, ifIndex: gwIf });
    const gwNet = new Network(gw.backend, { scheduler: sched, rng });
    this.#closer('gateway stack', async () => {
      await gwNet.close();
      await gw.close();
      gwLan.port.close();
    });
    const dhcp = new Dhcp4Server(gw.stack, {
      ifIndex: gwIf, pool: N.pool, routers: [N.gateway], dnsServers: [N.gateway], domainName: N.domain, leaseSeconds: 3600,
      onEvent: (e) => {
        if (e.type === 'ack') this.#live.event('address', 'gateway', `DHCP: ${Stack.format(e.address)} leased to ${macToString(e.mac)}`);
      },
    });
    this.#closer('DHCP server', () => dhcp.close());
    const dnsServers: DnsServer[] = [];
    this.#closer('DNS servers', () => Promise.all(dnsServers.map((d) => d.close())));
    dnsServers.push(await startDnsServer(gwNet, { zones: [{ origin: N.domain, records: ZONE }], port: 53, host: N.gateway }));
    dnsServers.push(await startDnsServer(gwNet, { zones: [{ origin: N.domain, records: ZONE }], port: 53, host: N.gateway6, family: 6 }));
    const dnsQueries = (): number => dnsServers.reduce((n, d) => n + d.stats.queries, 0);

    const broker = await DemoBroker.start(o.broker, {
      onSecure: (c) => this.#live.event('mqtt', this.#whoIs(c.remote)?.node, `TLS from ${c.remote}: ${c.tlsProtocol ?? '?'} ${c.cipher ?? ''}`),
      onPublish: (c, p) => this.#tapped(c, p.topic, p.payload),
      onError: (c, e) => this.#live.event('mqtt', this.#whoIs(c.remote)?.node, `gateway: the connection from ${c.remote} ended (${(e as { code?: string }).code ?? e.message})`),
    });
    this.#closer('broker', () => broker.close());
    const listeners: TcpServer[] = [];
    this.#closer('TLS listeners', () => Promise.all(listeners.map((l) => l.close())));
    for (const family of [4, 6] as const) {
      const l = await gwNet.listen({ port: N.brokerPort, family });
      listeners.push(l);
      void (async () => {
        for (;;) {
          try {
            broker.serve(await l.accept());
          } catch {
            return;
          }
        }
      })();
    }
    const gwNode: NodeView = {
      id: 'gateway', label: 'gateway', role: 'gateway', stack: 'userspace',
      ifaces: [staticIface('gateway/eth0', 'eth0', 'ethernet', [`${N.gateway}/24`, `${N.gateway6}/64`], () => true, 'static')],
      counters: () => ({ sent: this.#deliveredTotal(), received: this.#commandsSent, bytesOut: gw.stack.stats.txBytes, bytesIn: gw.stack.stats.rxBytes }),
      state: `DHCP, DNS ${N.domain}, broker ${N.broker}:${N.brokerPort} (${broker.kind})`,
    };
    this.#nodes.push(gwNode);
    this.#live.event('phase', 'gateway', `gateway up: DHCP pool ${N.pool.start}-${N.pool.end}, DNS zone ${N.domain} on ${N.gateway} and ${N.gateway6}, `
      + `MQTT over TLS on ${N.broker}:${N.brokerPort} -> ${broker.description}`);

    // The gateway's controller: reads every device's telemetry, sends the commands.
    const controller = await broker.connectClient(gwNet, { clientId: 'iotnet-demo-gateway', clean: false, keepaliveSeconds: 30, scheduler: sched, reconnect: { minDelayMs: 200, maxDelayMs: 1000 } });
    this.#closer('gateway MQTT client', () => controller.end(true));
    controller.on('message', (m) => this.#telemetry(m.topic, m.payload));
    await controller.subscribe('iotnet/+/telemetry', { qos: 1 });

    // ---- sensor-eth: a userspace stack on the switch, DHCP --------------------------------------
    const ethLan = lanPort(sw);
    const eth = new EthernetInterface({ link: ethLan.link, scheduler: sched, rng, name: 'eth0', mac: '02:00:c0:a8:07:10', dhcp: { hostname: 'sensor-eth', timing: DEMO_PROBE_TIMING } });
    this.#closer('sensor-eth eth0', async () => {
      await eth.close();
      ethLan.port.close();
    }, 2);
    const ethDev = this.#device('eth-dev', 'sensor-eth', 'userspace', [
      ifaceOf('eth-dev/eth0', 'eth0', 'ethernet', () => eth, () => eth.status === 'global-up', () => this.#reasons.get('eth-dev/eth0') ?? ''),
    ], () => ({ out: eth.stack.stats.txBytes, in: eth.stack.stats.rxBytes }));
    this.#statusEvents('eth-dev', 'eth-dev/eth0', eth);

    // ---- sensor-wifi: ESP-AT WiFi (through the AP), Ethernet fallback, under a Mux -------------
    const apLan = lanPort(sw);
    const apLink = wifiFile !== undefined ? new PcapCapture(apLan.link, { clock: sched, sink: wifiFile.sink() }) : apLan.link;
    const ap = userspaceHost({ name: 'access-point', scheduler: sched, rng });
    ap.stack.addInterface(apLink, { name: 'eth0', mac: '02:00:c0:a8:07:02', ipv4: { address: N.accessPoint, prefixLen: 24 }, gateway: N.gateway });
    ap.backend.setDnsServers([N.gateway]);
    const apNet = new Network(ap.backend, { scheduler: sched, rng });
    this.#closer('access point', async () => {
      await apNet.close();
      await ap.close();
      apLan.port.close();
    });
    const [espHost, espModule] = createBytePipe({ scheduler: sched, baudRate: 921_600 });
    const esp = new EspAtSim({
      stream: espModule, scheduler: sched, network: apNet, rng, dialect: 'esp-at', aps: [AP],
      station: { ip: N.wifiStation, gateway: '192.168.4.1', netmask: '255.255.255.0', dns: [N.gateway] },
    });
    esp.powerOn();
    const wifi = new WiFiInterface({ esp: createEspAt({ stream: espHost, scheduler: sched, backend: { rng } }), credentials: { ssid: AP.ssid, password: AP.password } });
    const wEthLan = lanPort(sw);
    const wEth = new EthernetInterface({ link: wEthLan.link, scheduler: sched, rng, name: 'eth0', mac: '02:00:c0:a8:07:20', dhcp: { hostname: 'sensor-wifi', timing: DEMO_PROBE_TIMING } });
    const muxHolder: { mux?: Mux } = {};
    this.#closer('sensor-wifi interfaces', async () => {
      await muxHolder.mux?.close();
      await Promise.all([wifi.close(), wEth.close()]);
      esp.close();
      wEthLan.port.close();
    }, 2);
    const wifiDev = this.#device('wifi-dev', 'sensor-wifi', 'esp-at + userspace (mux)', [
      ifaceOf('wifi-dev/wlan0', 'wlan0', 'wifi', () => wifi, () => muxHolder.mux?.current === wifi, () => this.#reasons.get('wifi-dev/wlan0') ?? ''),
      ifaceOf('wifi-dev/eth0', 'eth0', 'ethernet', () => wEth, () => muxHolder.mux?.current === wEth, () => this.#reasons.get('wifi-dev/eth0') ?? ''),
    ], () => ({ out: esp.stats.bytesToNetwork + wEth.stack.stats.txBytes, in: esp.stats.bytesFromNetwork + wEth.stack.stats.rxBytes }));
    this.#statusEvents('wifi-dev', 'wifi-dev/wlan0', wifi);
    this.#statusEvents('wifi-dev', 'wifi-dev/eth0', wEth);
    this.#nodes.push({
      id: 'ap', label: 'access point', role: 'access-point', stack: 'userspace (the ESP-AT simulator\'s sockets)',
      ifaces: [
        staticIface('ap/eth0', 'eth0', 'ethernet', [`${N.accessPoint}/24`], () => true, 'static'),
        staticIface('ap/wlan', 'wlan', 'wifi', [`ssid ${AP.ssid}`], () => this.#apUp, 'beaconing'),
      ],
      counters: () => ({ sent: 0, received: 0, bytesOut: ap.stack.stats.txBytes, bytesIn: ap.stack.stats.rxBytes }),
      state: `SSID ${AP.ssid}, channel ${AP.channel}`,
    });

    // ---- sensor-cell: Quectel simulator, PPP dial-up into a carrier routed to the LAN --------
    const carLan = lanPort(sw);
    const carrier = userspaceHost({ name: 'carrier', scheduler: sched, rng, stack: { forwarding: true } });
    carrier.stack.addInterface(carLan.link, { name: 'eth0', mac: '02:00:c0:a8:07:03', ipv4: { address: N.carrier, prefixLen: 24 }, gateway: N.gateway });
    const carrierNet = new Network(carrier.backend, { scheduler: sched, rng });
    this.#closer('carrier', async () => {
      await carrierNet.close();
      await carrier.close();
      carLan.port.close();
    });
    const ppp = pppCarrier({ stack: carrier.stack, scheduler: sched, rng, dnsServers: [N.gateway] });
    const [cellHost, cellModule] = createBytePipe({ scheduler: sched, baudRate: 921_600 });
    // The module boots and finds its network in ~1 s (the simulator's defaults are 3 s + 1.5 s, like a real BG96).
    const quectel = new QuectelSim({
      stream: cellModule, scheduler: sched, network: carrierNet, rng, pdpAddress: N.cellAddress, dataCall: ppp.handler, timing: { bootMs: 600, simReadyMs: 300 },
    });
    quectel.powerOn();
    const pppCapture = pppFile !== undefined ? pppCaptureTap({ clock: sched, sink: pppFile.sink() }) : undefined;
    const cell = new CellularInterface({ stream: cellHost, scheduler: sched, rng, apn: 'iot.test', ...(pppCapture !== undefined ? { dialup: { ppp: { capture: pppCapture } } } : {}) });
    this.#closer('sensor-cell cell0', async () => {
      await cell.close();
      quectel.close();
    }, 2);
    const cellDev = this.#device('cell-dev', 'sensor-cell', 'userspace + PPP (Quectel BG96 simulator)', [
      ifaceOf('cell-dev/cell0', 'cell0', 'cellular', () => cell, () => cell.status === 'global-up', () => this.#reasons.get('cell-dev/cell0') ?? ''),
    ], () => ({ out: cell.host.stack.stats.txBytes, in: cell.host.stack.stats.rxBytes }));
    this.#statusEvents('cell-dev', 'cell-dev/cell0', cell);
    this.#nodes.push({
      id: 'carrier', label: 'carrier', role: 'carrier', stack: 'userspace (router)',
      ifaces: [
        staticIface('carrier/eth0', 'eth0', 'ethernet', [`${N.carrier}/24`], () => true, 'static'),
        staticIface('carrier/ppp', 'ppp', 'serial', [N.cellular], () => ppp.stats.up > ppp.stats.pppEnded, 'call up'),
      ],
      counters: () => ({ sent: 0, received: 0, bytesOut: carrier.stack.stats.txBytes, bytesIn: carrier.stack.stats.rxBytes }),
      state: 'routes 10.64.0.0/24 (PPP calls) to the LAN',
    });

    // ---- sensor-mesh: 6LoWPAN, a relay, then the border router on the LAN ------------------
    const brLan = lanPort(sw);
    const mesh: MeshNet = meshNet({ scheduler: sched, hops: 2, bareNodes: 1, backbone: brLan.link, brBackboneAddr: N.borderRouter6, bitrate: o.radioBitrate, seed: 11 });
    let radioFrames = 0;
    let stopRadio: (() => void) | undefined;
    if (radioFile !== undefined) {
      const sink = radioFile.sink();
      stopRadio = mesh.medium.capture((c) => {
        radioFrames++;
        sink(c);
      });
    }
    const meshPort = mesh.ports[2] as RadioPort;
    const meshIf = new MeshInterface({ link: new RadioLink(meshPort), scheduler: sched, rng, meshRoutes: mesh.medium.meshRouter(meshPort), dns: [N.gateway6] });
    this.#closer('sensor-mesh mesh0', () => meshIf.close(), 2);
    this.#closer('mesh', () => {
      stopRadio?.();
      mesh.close();
      brLan.port.close();
    });
    const meshDev = this.#device('mesh-dev', 'sensor-mesh', `userspace + 6LoWPAN (${mesh.nodes.length + 1} radio hops)`, [
      ifaceOf('mesh-dev/mesh0', 'mesh0', 'ieee802154', () => meshIf, () => meshIf.status === 'global-up', () => this.#reasons.get('mesh-dev/mesh0') ?? ''),
    ], () => ({ out: meshIf.stack.stats.txBytes, in: meshIf.stack.stats.rxBytes }));
    this.#statusEvents('mesh-dev', 'mesh-dev/mesh0', meshIf);
    const br = mesh.br;
    this.#nodes.push({
      id: 'br', label: 'border router', role: 'border-router', stack: 'userspace (6LoWPAN router)',
      ifaces: [
        staticIface('br/eth0', 'eth0', 'ethernet', [`${N.borderRouter6}/64`], () => true, 'static'),
        staticIface('br/lowpan0', 'lowpan0', 'ieee802154', ['2001:db8:1::1/64'], () => true, 'router'),
      ],
      counters: () => ({ sent: 0, received: 0, bytesOut: br.stack.stats.txBytes, bytesIn: br.stack.stats.rxBytes }),
      state: `routes ${N.mesh6} <-> ${N.lan6}; PAN 0xabcd, ${o.radioBitrate / 1000} kbit/s`,
    });

    // ---- Links ----------------------------------------------------------------------------
    const portFrames = (p: SwitchPort) => (): number => {
      const s = p.stats();
      return s.txFrames + s.rxFrames;
    };
    for (const [node, p] of [['eth-dev', ethLan.port], ['wifi-dev', wEthLan.port], ['ap', apLan.port], ['carrier', carLan.port], ['br', brLan.port]] as const) {
      this.#links.push({ id: `lan:${node}`, medium: 'ethernet', a: node, b: 'gateway', up: () => true, pcap: () => lanFile?.path, frames: portFrames(p) });
    }
    this.#links.push({ id: 'wifi', medium: 'wifi', a: 'wifi-dev', b: 'ap', up: () => this.#apUp, pcap: () => wifiFile?.path, frames: () => wifiFile?.records ?? 0 });
    this.#links.push({ id: 'ppp', medium: 'serial', a: 'cell-dev', b: 'carrier', up: () => cell.status === 'global-up', pcap: () => pppFile?.path, frames: () => pppFile?.records ?? 0 });
    this.#links.push({ id: 'radio', medium: 'ieee802154', a: 'mesh-dev', b: 'br', up: () => true, pcap: () => radioFile?.path, frames: () => radioFrames });

    // ---- Bring everything up ----------------------------------------------------------------
    this.#live.setPhase('connecting', 'devices getting their addresses: DHCP, WiFi join, PPP dial-up, 6LoWPAN registration');
    const up = async (dev: Device, nif: NetworkInterface): Promise<void> => {
      dev.node.state = `${nif.name}: connecting`;
      try {
        await nif.connect();
        dev.node.state = `${nif.name} up`;
      } catch (e) {
        dev.node.state = `${nif.name} failed`;
        this.#problem(`${dev.label}: ${nif.name} did not come up: ${errorText(e)}`);
      }
    };
    await Promise.all([up(ethDev, eth), up(wifiDev, wifi), up(wifiDev, wEth), up(cellDev, cell), up(meshDev, meshIf)]);
    if (this.#problems.length > 0) return;

    const m = new Mux({ interfaces: [wifi, wEth], scheduler: sched, failbackHoldMs: o.failbackHoldMs });
    muxHolder.mux = m;
    m.on('switch', (s) => {
      const kind = s.to === 'wlan0' ? 'failback' : 'failover';
      this.#live.event(kind, 'wifi-dev', `mux: ${s.from ?? 'none'} -> ${s.to ?? 'none'} (${s.reason}${s.aborted > 0 ? `, ${s.aborted} socket(s) moved` : ''})`);
    });

    // ---- MQTT over TLS from every device ---------------------------------------------------
    this.#live.setPhase('connecting', `devices resolving ${N.broker} through the gateway's DNS and connecting over TLS`);
    ethDev.network = new Network(eth.backend, { scheduler: sched, rng });
    wifiDev.network = new Network(m, { scheduler: sched, rng });
    cellDev.network = new Network(cell.backend, { scheduler: sched, rng });
    meshDev.network = new Network(meshIf.backend, { scheduler: sched, rng });
    const queriesBefore = dnsQueries();
    const results = await Promise.all([...this.#devices.values()].map((d) => this.#connectDevice(d)));
    if (results.includes(false)) return;
    this.#live.event('dns', 'gateway', `${dnsQueries() - queriesBefore} DNS queries answered while the devices connected`);

    // ---- Telemetry and commands -------------------------------------------------------------
    this.#live.setPhase('running', `devices publishing telemetry every ${o.telemetryIntervalMs} ms (QoS 1), gateway sending commands every ${o.commandIntervalMs} ms`);
    this.#publishing = true;
    for (const d of this.#devices.values()) this.#publishLoop(d);
    let cmdSeq = 0;
    const sendCommands = (): void => {
      if (!this.#publishing) return;
      cmdSeq++;
      for (const d of this.#devices.values()) {
        d.commandsSent++;
        this.#commandsSent++;
        controller.publish(`iotnet/${d.label}/cmd`, JSON.stringify({ seq: cmdSeq, cmd: 'report-interval', ms: o.telemetryIntervalMs }), { qos: 1 })
          .catch((e: unknown) => this.#live.event('error', 'gateway', `command to ${d.label}: ${errorText(e)}`));
      }
      this.#timers.add(sched.setTimer(o.commandIntervalMs, sendCommands));
    };
    this.#timers.add(sched.setTimer(o.commandIntervalMs / 2, sendCommands));

    const apDownAt = Math.round(o.durationMs * 0.25);
    const apUpAt = Math.round(o.durationMs * 0.55);
    await sleep(sched, apDownAt);
    this.#apUp = false;
    this.#marks.apDown = sched.now();
    this.#live.setPhase('ap-down', 'fault: the WiFi access point goes off the air');
    this.#live.event('fault', 'ap', `access point ${AP.ssid} off`);
    esp.apLoss();
    await sleep(sched, apUpAt - apDownAt);
    this.#apUp = true;
    this.#marks.apUp = sched.now();
    this.#live.setPhase('recovering', 'the access point is back: the WiFi device re-joins, the mux fails back after its hold time');
    this.#live.event('fault', 'ap', `access point ${AP.ssid} back on the air`);
    esp.apRestore();
    await sleep(sched, o.durationMs - apUpAt);

    // ---- Drain -------------------------------------------------------------------------------
    this.#publishing = false;
    this.#live.setPhase('draining', 'devices stop publishing; waiting for every acknowledgement, delivery and command');
    const allUnacked = [...this.#devices.values()].flatMap((d) => [...d.unacked]);
    if (await within(sched, Promise.allSettled(allUnacked), 20_000) === undefined) this.#problem('some telemetry was not acknowledged within 20 s');
    await waitUntil(sched, () => [...this.#devices.values()].every((d) => d.delivered.size >= d.published), 10_000);
    await waitUntil(sched, () => [...this.#devices.values()].every((d) => d.commands.size >= d.commandsSent), 10_000);
    for (const d of this.#devices.values()) {
      const lost = d.published - [...d.delivered].filter((s) => s <= d.published).length;
      if (lost > 0) this.#problem(`${d.label}: ${lost} of ${d.published} telemetry messages never reached the gateway`);
      if (d.commands.size < d.commandsSent) this.#problem(`${d.label}: received ${d.commands.size} of ${d.commandsSent} commands`);
    }
    if (!this.#failovers.some((f) => f.to === 'eth0')) this.#problem('sensor-wifi: no telemetry came through Ethernet after the AP failed');
    if (!this.#failovers.some((f) => f.to === 'wlan0')) this.#problem('sensor-wifi: no telemetry came back through WiFi after the AP returned');
    for (const d of this.#devices.values()) {
      const c = d.client;
      if (c === undefined) continue;
      d.node.state = 'disconnecting';
      await within(sched, c.end().catch(() => undefined), 3000);
      d.client = undefined;
      d.node.state = 'done';
    }
  }

  #device(id: DeviceId, label: string, stack: string, ifaces: IfaceView[], bytes: () => { out: number; in: number }): Device {
    const dev: Device = {
      id, label, network: undefined, client: undefined, published: 0, acked: 0, unacked: new Set(), delivered: new Set(), copies: 0,
      commands: new Set(), commandsSent: 0, connects: 0,
      node: {
        id, label, role: 'device', stack, ifaces, state: 'starting',
        counters: () => {
          const b = bytes();
          return { sent: dev.published, received: dev.commands.size, bytesOut: b.out, bytesIn: b.in };
        },
      },
    };
    this.#devices.set(id, dev);
    this.#nodes.push(dev.node);
    this.#closer(`${label} MQTT`, async () => {
      const c = dev.client;
      dev.client = undefined;
      await c?.end(true);
      await dev.network?.close();
    }, 3);
    return dev;
  }

  async #connectDevice(d: Device): Promise<boolean> {
    const network = d.network;
    if (network === undefined) return false;
    const N = IOT_DEMO_NET;
    d.node.state = `connecting to ${N.broker}:${N.brokerPort}`;
    const tls = { ca: DEMO_CA_PEM, servername: N.broker, minVersion: 'TLSv1.2' as const };
    const options: MqttClientOptions = {
      host: N.broker, port: N.brokerPort, tls, clientId: `iotnet-demo-${d.label}`, clean: false, keepaliveSeconds: 20,
      reconnect: { minDelayMs: 200, maxDelayMs: 2000 }, connectTimeoutMs: 20_000, scheduler: this.#sched,
    };
    // An IPv6-only device (the mesh node) gets the broker's AAAA record: the socket layer asks
    // first for the families the device has a source address of.
    try {
      // The name first, on its own, so the view shows it (the client resolves it again, from the resolver's cache).
      const address = await within(this.#sched, network.lookup(N.broker), 15_000);
      if (address === undefined) throw new Error(`${N.broker} not resolved within 15 s`);
      const servers = d.node.ifaces.find((i) => i.view().active)?.dns() ?? [];
      this.#live.event('dns', d.id, `${N.broker} -> ${address} (DNS ${servers.join(', ') || '?'} through ${this.#via(d)})`);
      const c = await within(this.#sched, MqttClient.connect(network, options), 60_000);
      if (c === undefined) throw new Error('no CONNACK within 60 s');
      d.client = c;
      c.on('connect', (e) => {
        d.connects++;
        d.node.state = `publishing (${this.#via(d)})`;
        this.#live.event('mqtt', d.id, `MQTT ${e.reconnect ? 're' : ''}connected via ${this.#via(d)}${e.sessionPresent ? ', session kept' : ''}`);
      });
      c.on('offline', (e) => {
        d.node.state = 'reconnecting';
        this.#live.event('mqtt', d.id, `MQTT connection lost${e.error !== undefined ? `: ${e.error.message}` : ''}; reconnecting`);
      });
      c.on('error', () => undefined);
      c.on('message', (m) => {
        try {
          const cmd = JSON.parse(new TextDecoder().decode(m.payload)) as { seq?: unknown };
          if (typeof cmd.seq === 'number') d.commands.add(cmd.seq);
        } catch {
          // not a command of ours
        }
      });
      d.connects++;
      d.node.state = `publishing (${this.#via(d)})`;
      this.#live.event('mqtt', d.id, `MQTT connected to ${N.broker}:${N.brokerPort} via ${this.#via(d)} (TLS, broker certificate verified)`);
      await c.subscribe(`iotnet/${d.label}/cmd`, { qos: 1 });
      return true;
    } catch (e) {
      d.node.state = 'failed';
      this.#problem(`${d.label}: MQTT connect failed: ${errorText(e)}`);
      return false;
    }
  }

  #via(d: Device): string {
    const active = d.node.ifaces.find((i) => i.view().active);
    return active?.name ?? d.node.ifaces[0]?.name ?? '?';
  }

  #publishLoop(d: Device): void {
    const step = (): void => {
      if (!this.#publishing) return;
      const c = d.client;
      if (c !== undefined) {
        const seq = ++d.published;
        // A made-up reading: a slow wave per device (no randomness needed).
        const value = Math.round((20 + 3 * Math.sin(seq / 10 + d.label.length)) * 100) / 100;
        const p = c.publish(`iotnet/${d.label}/telemetry`, JSON.stringify({ seq, value }), { qos: 1 });
        d.unacked.add(p);
        p.then(() => {
          d.acked++;
          d.unacked.delete(p);
        }, () => undefined);
      }
      this.#timers.add(this.#sched.setTimer(this.#o.telemetryIntervalMs, step));
    };
    step();
  }

  /** The gateway's subscriber got a telemetry message. */
  #telemetry(topic: string, payload: Uint8Array): void {
    const d = this.#byTopic(topic);
    const seq = seqOf(payload);
    if (d === undefined || seq === undefined) return;
    d.copies++;
    d.delivered.add(seq);
  }

  /** A PUBLISH passed the gateway's TLS termination: which device, which interface. */
  #tapped(c: BrokerConnection, topic: string, payload: Uint8Array): void {
    const d = this.#byTopic(topic);
    if (d === undefined || d.id !== 'wifi-dev' || seqOf(payload) === undefined) return;
    const path = this.#whoIs(c.remote)?.iface;
    const now = this.#sched.now();
    const measure = (since: number | undefined, from: string, to: string, kind: 'failover' | 'failback'): void => {
      if (since === undefined || path !== to || this.#failovers.some((f) => f.to === to && f.from === from)) return;
      const ms = Math.round(now - since);
      this.#failovers.push({ node: d.label, from, to, ms });
      this.#live.event(kind, d.id, `first telemetry through ${to} ${ms} ms after the ${kind === 'failover' ? 'AP failed' : 'AP returned'}`);
    };
    measure(this.#marks.apDown, 'wlan0', 'eth0', 'failover');
    measure(this.#marks.apUp, 'eth0', 'wlan0', 'failback');
  }

  #byTopic(topic: string): Device | undefined {
    const label = /^iotnet\/([^/]+)\/telemetry$/.exec(topic)?.[1];
    return [...this.#devices.values()].find((d) => d.label === label);
  }

  /** The device and interface behind a connection's source address. */
  #whoIs(remote: string): { node: string; iface: string } | undefined {
    if (remote === IOT_DEMO_NET.accessPoint) return { node: 'wifi-dev', iface: 'wlan0' };
    for (const d of this.#devices.values()) {
      for (const i of d.node.ifaces) {
        if (i.view().addresses.some((a) => a.split('/')[0] === remote)) return { node: d.id, iface: i.name };
      }
    }
    return undefined;
  }

  #deliveredTotal(): number {
    let n = 0;
    for (const d of this.#devices.values()) n += d.delivered.size;
    return n;
  }

  #summary(durationMs: number, pcaps: { link: string; path: string }[]): DemoSummary {
    const devs = [...this.#devices.values()];
    const published = devs.reduce((n, d) => n + d.published, 0);
    const delivered = devs.reduce((n, d) => n + [...d.delivered].filter((s) => s <= d.published).length, 0);
    const duplicates = devs.reduce((n, d) => n + d.copies - d.delivered.size, 0);
    const commandsReceived = devs.reduce((n, d) => n + d.commands.size, 0);
    return {
      ok: this.#problems.length === 0 && published > 0 && delivered === published,
      durationMs: Math.round(durationMs),
      published, delivered, lost: published - delivered, duplicates,
      commandsSent: this.#commandsSent, commandsReceived,
      failovers: [...this.#failovers],
      pcaps,
      problems: [...this.#problems],
      devices: devs.map((d) => ({
        node: d.id, label: d.label, published: d.published, delivered: [...d.delivered].filter((s) => s <= d.published).length,
        lost: d.published - [...d.delivered].filter((s) => s <= d.published).length, duplicates: d.copies - d.delivered.size,
        commandsSent: d.commandsSent, commandsReceived: d.commands.size, connects: d.connects,
      })),
    };
  }
}

function seqOf(payload: Uint8Array): number | undefined {
  try {
    const v = JSON.parse(new TextDecoder().decode(payload)) as { seq?: unknown };
    return typeof v.seq === 'number' ? v.seq : undefined;
  } catch {
    return undefined;
  }
}
