/**
 * A small stand-in for the IoT demo's `DemoLive`, for the dashboard's tests: a gateway, an access
 * point, a carrier, a border router and four devices (Ethernet, WiFi with an Ethernet fallback,
 * cellular, 6LoWPAN), each link with a tiny pcap file. Nothing runs by itself: `step()` advances
 * the run by `ms` (counters grow, a tick goes out), the 4th step takes the access point down (the
 * WiFi device fails over to eth0), the 12th brings it back (fail-back), `finish()` ends the run.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type {
  DemoEvent, DemoInterface, DemoLink, DemoLive, DemoNode, DemoSnapshot, DemoSummary, DemoUpdate,
} from '../../src/apps/demo/demo-model.ts';
import { pcapGlobalHeader } from '../../src/link/pcap-writer.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function iface(id: string, name: string, medium: DemoInterface['medium'], addresses: string[], active = true): Mutable<DemoInterface> {
  return { id, name, medium, status: 'global-up', reason: 'up', addresses, active };
}

function node(id: string, label: string, role: DemoNode['role'], stack: string, interfaces: Mutable<DemoInterface>[]): Mutable<DemoNode> & { interfaces: Mutable<DemoInterface>[] } {
  return { id, label, role, stack, interfaces, counters: { sent: 0, received: 0, bytesOut: 0, bytesIn: 0 }, state: 'starting' };
}

/** An Ethernet frame's worth of pcap: the global header and one record of 60 zero bytes. */
function tinyPcap(linkType: number): Uint8Array {
  const head = pcapGlobalHeader(linkType);
  const rec = new Uint8Array(16 + 60);
  const v = new DataView(rec.buffer);
  v.setUint32(8, 60, true);
  v.setUint32(12, 60, true);
  const out = new Uint8Array(head.length + rec.length);
  out.set(head, 0);
  out.set(rec, head.length);
  return out;
}

export class FakeDemoLive implements DemoLive {
  private t = 0;
  private steps = 0;
  private phase = 'starting';
  private readonly listeners = new Set<(u: DemoUpdate) => void>();
  private readonly events: DemoEvent[] = [];
  private readonly nodes: (Mutable<DemoNode> & { interfaces: Mutable<DemoInterface>[] })[];
  private readonly links: Mutable<DemoLink>[];
  private result: DemoSummary | undefined;

  /** Writes one pcap per link into `dir`. */
  constructor(dir: string) {
    this.nodes = [
      node('gateway', 'gateway', 'gateway', 'userspace', [iface('gateway/eth0', 'eth0', 'ethernet', ['192.168.7.1/24', 'fd00:7::1/64'])]),
      node('ap', 'access point', 'access-point', 'virtual', [iface('ap/wlan0', 'wlan0', 'wifi', []), iface('ap/eth0', 'eth0', 'ethernet', [])]),
      node('carrier', 'carrier', 'carrier', 'quectel sim', [iface('carrier/ppp0', 'ppp0', 'cellular', ['10.64.0.1'])]),
      node('br', 'border router', 'border-router', 'userspace', [iface('br/eth0', 'eth0', 'ethernet', ['192.168.7.4/24']), iface('br/lowpan0', 'lowpan0', 'ieee802154', ['fd00:15::1/64'])]),
      node('eth-dev', 'sensor-eth', 'device', 'userspace', [iface('eth-dev/eth0', 'eth0', 'ethernet', ['192.168.7.10/24'])]),
      node('wifi-dev', 'sensor-wifi', 'device', 'esp-at', [
        iface('wifi-dev/wlan0', 'wlan0', 'wifi', ['192.168.7.11/24']),
        iface('wifi-dev/eth0', 'eth0', 'ethernet', ['192.168.7.12/24'], false),
      ]),
      node('cell-dev', 'sensor-cell', 'device', 'userspace+ppp', [iface('cell-dev/ppp0', 'ppp0', 'cellular', ['10.64.0.2'])]),
      node('mesh-dev', 'sensor-mesh', 'device', 'userspace+6lowpan', [iface('mesh-dev/lowpan0', 'lowpan0', 'ieee802154', ['fd00:15::2/64'])]),
    ];
    const link = (id: string, medium: DemoLink['medium'], a: string, b: string, linkType: number): Mutable<DemoLink> => {
      const pcap = join(dir, `${id}.pcap`);
      writeFileSync(pcap, tinyPcap(linkType));
      return { id, medium, a, b, up: true, pcap, frames: 0 };
    };
    this.links = [
      link('lan', 'ethernet', 'eth-dev', 'gateway', 1),
      link('wifi', 'wifi', 'wifi-dev', 'ap', 1),
      link('ap-uplink', 'ethernet', 'ap', 'gateway', 1),
      link('wifi-dev-eth', 'ethernet', 'wifi-dev', 'gateway', 1),
      link('cell', 'cellular', 'cell-dev', 'carrier', 204),
      link('carrier-uplink', 'ethernet', 'carrier', 'gateway', 1),
      link('mesh', 'ieee802154', 'mesh-dev', 'br', 195),
      link('br-uplink', 'ethernet', 'br', 'gateway', 1),
    ];
    this.event('phase', 'starting', undefined);
  }

  snapshot(): DemoSnapshot {
    return structuredClone({ t: this.t, phase: this.phase, nodes: this.nodes, links: this.links, events: this.events.slice(-50) });
  }

  subscribe(fn: (update: DemoUpdate) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get summary(): DemoSummary | undefined {
    return this.result;
  }

  /** The run moves on by `ms`: every device publishes, the gateway answers, one tick goes out. */
  step(ms = 500): void {
    if (this.result !== undefined) return;
    this.t += ms;
    this.steps++;
    if (this.steps === 1) {
      this.phase = 'running';
      this.event('phase', 'running', undefined);
    }
    const wifi = this.find('wifi-dev');
    if (this.steps === 4) {
      this.phase = 'ap-down';
      this.setLink('wifi', false);
      this.setIface(wifi, 'wlan0', { status: 'connecting', reason: 'ap-lost', active: false });
      this.setIface(wifi, 'eth0', { active: true });
      this.event('fault', 'access point off', 'ap');
      this.event('failover', 'wlan0 \u2192 eth0 in 412 ms (access point lost)', 'wifi-dev');
    }
    if (this.steps === 12) {
      this.phase = 'running';
      this.setLink('wifi', true);
      this.setIface(wifi, 'wlan0', { status: 'global-up', reason: 'dhcp-bound', active: true });
      this.setIface(wifi, 'eth0', { active: false });
      this.event('failback', 'eth0 \u2192 wlan0 in 388 ms (access point back)', 'wifi-dev');
    }
    const gw = this.find('gateway');
    for (const n of this.nodes) {
      if (n.role !== 'device') continue;
      const c = n.counters;
      n.counters = { sent: c.sent + 2, received: c.received + 1, bytesOut: c.bytesOut + 180 + 10 * this.steps, bytesIn: c.bytesIn + 90 };
      n.state = 'publishing';
      const g = gw.counters;
      gw.counters = { sent: g.sent + 1, received: g.received + 2, bytesOut: g.bytesOut + 90, bytesIn: g.bytesIn + 180 + 10 * this.steps };
    }
    gw.state = 'serving';
    for (const l of this.links) if (l.up) l.frames += 6;
    this.emit({ type: 'tick', snapshot: this.snapshot() });
  }

  /** Ends the run with a clean summary. */
  finish(): void {
    if (this.result !== undefined) return;
    this.phase = 'done';
    this.event('phase', 'done', undefined);
    const devices = this.nodes.filter((n) => n.role === 'device');
    const published = devices.reduce((s, n) => s + n.counters.sent, 0);
    const commands = devices.reduce((s, n) => s + n.counters.received, 0);
    this.result = {
      ok: true, durationMs: this.t, published, delivered: published, lost: 0, duplicates: 0,
      commandsSent: commands, commandsReceived: commands,
      failovers: [{ node: 'wifi-dev', from: 'wlan0', to: 'eth0', ms: 412 }, { node: 'wifi-dev', from: 'eth0', to: 'wlan0', ms: 388 }],
      pcaps: this.links.map((l) => ({ link: l.id, path: l.pcap as string })),
      problems: [],
      devices: devices.map((n) => ({
        node: n.id, label: n.label, published: n.counters.sent, delivered: n.counters.sent, lost: 0, duplicates: 0,
        commandsSent: n.counters.received, commandsReceived: n.counters.received, connects: n.id === 'wifi-dev' ? 3 : 1,
      })),
    };
    this.emit({ type: 'tick', snapshot: this.snapshot() });
    this.emit({ type: 'done', summary: this.result });
  }

  private find(id: string): Mutable<DemoNode> & { interfaces: Mutable<DemoInterface>[] } {
    const n = this.nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  private setIface(n: { interfaces: Mutable<DemoInterface>[] }, name: string, patch: Partial<DemoInterface>): void {
    const i = n.interfaces.find((x) => x.name === name);
    if (i !== undefined) Object.assign(i, patch);
  }

  private setLink(id: string, up: boolean): void {
    const l = this.links.find((x) => x.id === id);
    if (l !== undefined) l.up = up;
  }

  private event(kind: DemoEvent['kind'], text: string, nodeId: string | undefined): void {
    const e: DemoEvent = { t: this.t, kind, node: nodeId, text };
    this.events.push(e);
    this.emit({ type: 'event', event: e });
  }

  private emit(u: DemoUpdate): void {
    for (const fn of this.listeners) fn(u);
  }
}
