/**
 * The dashboard page's pure parts, in Node: the topology layout (columns by role, no overlaps, a
 * path per link, links that skip a column pass between its boxes) and the rates from snapshot deltas.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { DemoNode, DemoSnapshot } from '../../../../src/apps/demo/demo-model.ts';
import { layoutTopology, type NodeBox } from '../../../../web/dashboard/layout.ts';
import { ALL_DEVICES, RateHistory } from '../../../../web/dashboard/rates.ts';
import { FakeDemoLive } from '../../../support/fake-demo-live.ts';

function fakeSnapshot(): DemoSnapshot {
  const dir = mkdtempSync(join(tmpdir(), 'iotnet-dash-page-'));
  try {
    return new FakeDemoLive(dir).snapshot();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const overlap = (a: NodeBox, b: NodeBox): boolean => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

describe('layoutTopology', () => {
  const s = fakeSnapshot();
  const layout = layoutTopology(s.nodes, s.links);
  const box = (id: string): NodeBox => {
    const b = layout.nodes.get(id);
    assert.ok(b, `a box for ${id}`);
    return b;
  };

  it('places every node, inside the picture, without overlaps, devices left and the gateway right', () => {
    assert.equal(layout.nodes.size, s.nodes.length);
    const boxes = s.nodes.map((n) => box(n.id));
    for (const b of boxes) assert.ok(b.x >= 0 && b.y >= 0 && b.x + b.w <= layout.width && b.y + b.h <= layout.height);
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) assert.ok(!overlap(boxes[i] as NodeBox, boxes[j] as NodeBox), `${s.nodes[i]?.id} and ${s.nodes[j]?.id} overlap`);
    }
    const col = (role: DemoNode['role']): number[] => s.nodes.filter((n) => n.role === role).map((n) => box(n.id).col);
    assert.ok(col('device').every((c) => c === 0));
    assert.ok(col('access-point').every((c) => c === 1));
    assert.ok(col('gateway').every((c) => c === 2));
  });

  it('draws every link; a link that skips the middle column passes between its boxes', () => {
    assert.equal(layout.links.size, s.links.length);
    const middle = s.nodes.filter((n) => box(n.id).col === 1).map((n) => box(n.id));
    for (const l of s.links) {
      const p = layout.links.get(l.id);
      assert.ok(p && p.d.startsWith('M'), `path of ${l.id}`);
      if (Math.abs(box(l.a).col - box(l.b).col) === 2) {
        assert.ok(p.d.includes(' L'), `${l.id} runs straight through the middle column`);
        for (const b of middle) assert.ok(p.ly < b.y || p.ly > b.y + b.h, `${l.id} crosses ${JSON.stringify(b)}`);
      }
    }
  });

  it('puts a device next to what it connects to (the WiFi device beside the access point)', () => {
    const devices = s.nodes.filter((n) => n.role === 'device').sort((a, b) => box(a.id).y - box(b.id).y).map((n) => n.id);
    assert.equal(devices[0], 'wifi-dev');
    assert.equal(devices[devices.length - 1], 'mesh-dev');
  });

  it('copes with no links, one node, and links to unknown nodes', () => {
    const one = layoutTopology([s.nodes[0] as DemoNode], [{ id: 'x', medium: 'ethernet', a: 'gateway', b: 'ghost', up: true, frames: 0 }]);
    assert.equal(one.nodes.size, 1);
    assert.equal(one.links.size, 0);
    const empty = layoutTopology([], []);
    assert.equal(empty.nodes.size, 0);
    assert.ok(empty.width > 0 && empty.height > 0, `a valid viewBox: ${empty.width}x${empty.height}`);
  });
});

describe('RateHistory', () => {
  const snap = (t: number, sent: number, bytes: number): DemoSnapshot => ({
    t, phase: 'running', links: [], events: [],
    nodes: [
      { id: 'd', label: 'd', role: 'device', stack: 's', interfaces: [], state: '', counters: { sent, received: 0, bytesOut: bytes, bytesIn: 0 } },
      { id: 'g', label: 'g', role: 'gateway', stack: 's', interfaces: [], state: '', counters: { sent: 0, received: sent, bytesOut: 0, bytesIn: bytes } },
    ],
  });

  it('turns counter deltas into per-second rates, per node and for all devices', () => {
    const r = new RateHistory(3);
    r.add(snap(0, 0, 0));
    assert.deepEqual(r.of('d'), []);
    r.add(snap(500, 5, 1000));
    r.add(snap(500, 5, 1000)); // same time: nothing new
    r.add(snap(1500, 15, 1500));
    assert.deepEqual(r.of('d'), [{ t: 500, msgs: 10, bytes: 2000 }, { t: 1500, msgs: 10, bytes: 500 }]);
    assert.deepEqual(r.of(ALL_DEVICES), r.of('d'), 'the gateway is not a device');
    r.add(snap(2500, 15, 1500));
    r.add(snap(3500, 16, 1600));
    assert.equal(r.of('d').length, 3, 'bounded');
    assert.deepEqual(r.of('d')[2], { t: 3500, msgs: 1, bytes: 100 });
  });

  it('starts over when time goes back (a new run)', () => {
    const r = new RateHistory();
    r.add(snap(0, 0, 0));
    r.add(snap(1000, 10, 10));
    r.add(snap(200, 1, 1));
    assert.deepEqual(r.of('d'), []);
    r.add(snap(1200, 3, 3));
    assert.deepEqual(r.of('d'), [{ t: 1200, msgs: 2, bytes: 2 }]);
  });
});
