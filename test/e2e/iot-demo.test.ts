/**
 * The IoT deployment demo (`npm start`) as a test, in this process, in real time: the same
 * scenario as `iotnet demo`, with the in-process aedes broker (mosquitto is the CLI's choice when
 * installed; cli-demo.test.ts runs that). Every device comes up, no telemetry message is lost,
 * the WiFi device's failover and fail-back are both measured, every command arrives, each link
 * has a non-empty pcap (and tshark, when there, finds nothing malformed in them), the live model
 * and the plain-text view report it, and everything closes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { IotDemo } from '../../src/apps/demo/iot-demo.ts';
import type { DemoSnapshot, DemoUpdate } from '../../src/apps/demo/demo-model.ts';
import { startTerminalView } from '../../src/apps/demo/terminal-view.ts';
import { skipWithoutTool } from '../support/system-tool.ts';

describe('IoT demo scenario (npm start), in process', () => {
  it('four devices on four stacks: up, TLS, telemetry without loss, failover and fail-back, commands, pcaps', { timeout: 180_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'iotnet-iot-demo-test-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const demo = new IotDemo({ pcapDir: dir, broker: 'aedes' });

    // The live model, as a viewer sees it.
    const updates: DemoUpdate[] = [];
    let running: DemoSnapshot | undefined;
    const off = demo.live.subscribe((u) => {
      updates.push(u);
      if (u.type === 'tick' && u.snapshot.phase === 'running') running = u.snapshot;
    });
    // The plain-text view (not a TTY): one line per notable event, then the summary.
    let text = '';
    const view = startTerminalView(demo.live, { write: (s: string) => (text += s), isTTY: false });

    const s = await demo.run();
    off();
    await view.done;
    t.diagnostic(`${(s.durationMs / 1000).toFixed(1)} s; ${s.published} published, ${s.delivered} delivered, ${s.lost} lost, ${s.duplicates} duplicates; `
      + `commands ${s.commandsReceived}/${s.commandsSent}; ${s.failovers.map((f) => `${f.from}->${f.to} ${f.ms} ms`).join(', ')}`);
    for (const d of s.devices ?? []) t.diagnostic(`${d.label}: ${d.published} published, ${d.delivered} delivered, ${d.duplicates} dup, commands ${d.commandsReceived}/${d.commandsSent}, connects ${d.connects}`);

    assert.deepEqual(s.problems, []);
    assert.equal(s.ok, true);
    assert.ok(s.published > 0);
    assert.equal(s.lost, 0);
    assert.equal(s.delivered, s.published);
    assert.equal(s.commandsReceived, s.commandsSent);
    assert.ok(s.commandsSent > 0);
    const devices = s.devices ?? [];
    assert.deepEqual(devices.map((d) => d.label), ['sensor-eth', 'sensor-wifi', 'sensor-cell', 'sensor-mesh']);
    for (const d of devices) {
      assert.ok(d.published >= 20, `${d.label} published (${d.published})`);
      assert.equal(d.lost, 0, `${d.label} lost nothing`);
      assert.ok(d.commandsReceived > 0 && d.commandsReceived === d.commandsSent, `${d.label} got every command`);
    }
    assert.ok((devices.find((d) => d.label === 'sensor-wifi')?.connects ?? 0) >= 3, 'the WiFi device connected, moved to Ethernet and back');
    const over = s.failovers.find((f) => f.from === 'wlan0' && f.to === 'eth0');
    const back = s.failovers.find((f) => f.from === 'eth0' && f.to === 'wlan0');
    assert.ok(over !== undefined && over.ms > 0, 'failover measured');
    assert.ok(back !== undefined && back.ms > 0, 'fail-back measured');

    // One non-empty pcap per link.
    assert.deepEqual(s.pcaps.map((p) => p.link).sort(), ['lan', 'ppp', 'radio', 'wifi']);
    for (const p of s.pcaps) assert.ok(statSync(p.path).size > 24 + 100, `${p.link}: ${p.path} has records`);

    // The live model: every device up and publishing while running, links counted, the events told the story.
    assert.ok(running !== undefined, 'a snapshot while running');
    for (const id of ['eth-dev', 'wifi-dev', 'cell-dev', 'mesh-dev']) {
      const n = running.nodes.find((x) => x.id === id);
      assert.ok(n !== undefined, `${id} in the snapshot`);
      assert.ok(n.interfaces.some((i) => i.status === 'global-up' && i.active && i.addresses.length > 0), `${id} has an active interface with an address`);
    }
    assert.ok(running.links.every((l) => l.frames > 0), 'frames counted on every link');
    assert.deepEqual(running.links.filter((l) => !l.id.startsWith('lan:')).map((l) => l.pcap !== undefined), [true, true, true]);
    const kinds = new Set(updates.flatMap((u) => (u.type === 'event' ? [u.event.kind] : [])));
    for (const k of ['phase', 'status', 'address', 'dns', 'mqtt', 'failover', 'failback', 'fault'] as const) assert.ok(kinds.has(k), `a ${k} event`);
    assert.equal(updates.filter((u) => u.type === 'done').length, 1);
    assert.deepEqual(demo.live.summary, s);
    assert.equal(demo.live.snapshot().phase, 'done');

    // The plain view: event lines (no escape codes, no table), then the summary.
    assert.doesNotMatch(text, /\u001b\[/);
    assert.match(text, /mux: wlan0 -> eth0/);
    assert.match(text, /OK: the IoT demo ran for/);
    assert.match(text, new RegExp(`${s.published} published, ${s.published} delivered, 0 lost`));
    assert.match(text, /failover +sensor-wifi: wlan0 -> eth0 in \d+ ms/);
    assert.match(text, /fail-back sensor-wifi: eth0 -> wlan0 in \d+ ms/);
    for (const p of s.pcaps) assert.ok(text.includes(p.path), `the summary names ${p.path}`);
    const lines = text.split('\n').length;
    assert.ok(lines < 150, `a line per notable event, no flood (${lines} lines)`);

    // tshark reads every capture and finds nothing malformed.
    if (skipWithoutTool(t, 'tshark', 'tshark', 'the demo pcaps')) return;
    for (const p of s.pcaps) {
      const r = spawnSync('tshark', ['-r', p.path, '-o', '6lowpan.context0:2001:db8:1::/64', '-Y', '_ws.malformed || _ws.expert.severity >= error'], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, `tshark on ${p.link}: ${r.stderr}`);
      assert.equal(r.stdout.trim(), '', `${p.link}: nothing malformed`);
    }
  });
});
