// The demo's terminal view over a DemoLiveModel on virtual time: plain mode writes one line per
// notable event (no status lines, no escape codes) and the summary; TTY mode draws the table and
// redraws it in place (cursor up by the lines drawn, clear), every line within the width.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualScheduler } from '../../../../src/base/time.ts';
import { DemoLiveModel } from '../../../../src/apps/demo/demo-live.ts';
import type { DemoLink, DemoNode, DemoSummary } from '../../../../src/apps/demo/demo-model.ts';
import { formatSummary, startTerminalView } from '../../../../src/apps/demo/terminal-view.ts';

const node = (id: string, label: string, status: 'global-up' | 'connecting'): DemoNode => ({
  id, label, role: id === 'gateway' ? 'gateway' : 'device', stack: 'userspace', state: 'publishing',
  counters: { sent: 12, received: 3, bytesOut: 12_345, bytesIn: 678 },
  interfaces: [{ id: `${id}/eth0`, name: 'eth0', medium: 'ethernet', status, reason: status === 'global-up' ? 'dhcp-bound' : 'dhcp', addresses: ['192.168.7.100/24'], active: status === 'global-up' }],
});

const summary = (ok: boolean): DemoSummary => ({
  ok, durationMs: 25_400, published: 8, delivered: ok ? 8 : 7, lost: ok ? 0 : 1, duplicates: 1, commandsSent: 4, commandsReceived: 4,
  failovers: [{ node: 'sensor-wifi', from: 'wlan0', to: 'eth0', ms: 280 }, { node: 'sensor-wifi', from: 'eth0', to: 'wlan0', ms: 2600 }],
  pcaps: [{ link: 'lan', path: '/tmp/x/lan.pcap' }],
  problems: ok ? [] : ['sensor-eth: 1 of 8 telemetry messages never reached the gateway'],
  devices: [{ node: 'eth-dev', label: 'sensor-eth', published: 8, delivered: ok ? 8 : 7, lost: ok ? 0 : 1, duplicates: 1, commandsSent: 4, commandsReceived: 4, connects: 1 }],
});

function model(): { sched: VirtualScheduler; live: DemoLiveModel } {
  const sched = new VirtualScheduler();
  const nodes = [node('gateway', 'gateway', 'global-up'), node('eth-dev', 'sensor-eth', 'connecting')];
  const links: DemoLink[] = [{ id: 'lan:eth-dev', medium: 'ethernet', a: 'eth-dev', b: 'gateway', up: true, frames: 42, pcap: '/tmp/x/lan.pcap' }];
  return { sched, live: new DemoLiveModel(sched, () => ({ nodes, links })) };
}

describe('terminal view', () => {
  it('not a TTY: a line per notable event, then the summary', async () => {
    const { sched, live } = model();
    let out = '';
    const view = startTerminalView(live, { write: (s: string) => (out += s), isTTY: false });
    live.setPhase('running', 'devices publishing');
    sched.advance(1500);
    live.event('status', 'eth-dev', 'eth0 connecting (dhcp)');
    live.event('failover', 'eth-dev', 'mux: wlan0 -> eth0');
    live.tick();
    live.finish(summary(true));
    const s = await view.done;
    assert.equal(s.ok, true);
    assert.doesNotMatch(out, /\u001b/);
    assert.doesNotMatch(out, /connecting \(dhcp\)/, 'status changes are not notable');
    assert.match(out, /^ +0\.0 s +devices publishing$/m);
    assert.match(out, /^ +1\.5 s  sensor-eth +mux: wlan0 -> eth0$/m, 'the node by its label');
    assert.ok(out.endsWith(formatSummary(s)));
    live.event('error', undefined, 'after the end');
    assert.doesNotMatch(out, /after the end/, 'stopped after the summary');
  });

  it('a TTY: the table drawn, then redrawn in place at each tick, within the width', async () => {
    const { live } = model();
    const writes: string[] = [];
    const view = startTerminalView(live, { write: (s: string) => writes.push(s), isTTY: true, columns: 60 });
    live.event('mqtt', 'eth-dev', 'MQTT connected via eth0 (TLS)');
    assert.equal(writes.length, 1, 'events wait for the next tick');
    live.tick();
    live.tick();
    assert.equal(writes.length, 3);
    const first = (writes[0] as string).split('\n').length - 1;
    assert.ok((writes[1] as string).startsWith(`\u001b[${first}F\u001b[J`), 'back up over the first drawing');
    const plain = (writes[2] as string).replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
    assert.match(plain, /sensor-eth/);
    assert.match(plain, /MQTT connected via eth0/);
    assert.match(plain, /links  lan 42 frames/);
    for (const line of plain.split('\n')) assert.ok(line.length <= 59, `within 60 columns: '${line}'`);
    live.finish(summary(false));
    await view.done;
    assert.match(writes.at(-1) as string, /^\nFAILED: the IoT demo ran for 25\.4 s/);
  });

  it('the summary: counts, per device, failover times, pcaps, problems', () => {
    const t = formatSummary(summary(false));
    assert.match(t, /^FAILED: /);
    assert.match(t, /8 published, 7 delivered, 1 lost, 1 duplicate$/m);
    assert.match(t, /sensor-eth +8 published +7 delivered +1 lost +1 dup +commands 4\/4 +MQTT connects 1/);
    assert.match(t, /commands \(gateway -> devices, QoS 1\): 4 sent, 4 received/);
    assert.match(t, /failover  sensor-wifi: wlan0 -> eth0 in 280 ms/);
    assert.match(t, /fail-back sensor-wifi: eth0 -> wlan0 in 2600 ms/);
    assert.match(t, /lan +\/tmp\/x\/lan\.pcap/);
    assert.match(t, /problem: sensor-eth: 1 of 8/);
  });
});
