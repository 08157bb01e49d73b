/**
 * A capture of a two-stack run (ARP, announcements, fragmented ping, UDP up to 65507
 * bytes, broadcast, port and protocol unreachable, reassembly time exceeded) checked by
 * tshark with checksum validation on: no malformed packets, no bad checksums, no expert
 * errors. tshark is installed when missing (root); otherwise a loud skip, a failure under CI.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { skipWithoutTool } from '../../support/system-tool.ts';
import { VirtualScheduler } from '../../../src/base/time.ts';
import { createCable, PcapCapture } from '../../../src/link/index.ts';
import { addHost, enc, ipFrame, openUdp, run } from '../../support/stack-net.ts';

function tshark(file: string, ...args: string[]): string[] {
  const r = spawnSync('tshark', ['-r', file, '-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l.trim() !== '');
}

describe('Stack: pcap checked by tshark', () => {
  it('no malformed packets, no bad IP/UDP/ICMP checksums, no expert errors', (t) => {
    if (skipWithoutTool(t, 'tshark', 'tshark', 'the two-stack capture')) return;
    const sched = new VirtualScheduler();
    const [a, b] = createCable();
    const chunks: Uint8Array[] = [];
    const cap = new PcapCapture(a, { clock: sched, sink: (c) => chunks.push(c) });
    const A = addHost(sched, cap, '10.0.0.1', 1);
    const B = addHost(sched, b, '10.0.0.2', 2);
    run(sched);
    A.stack.ping(sched.now(), B.ip, { size: 8000 });
    B.stack.ping(sched.now(), A.ip);
    run(sched, 10);
    const server = openUdp(B.stack, 7);
    const buf = new Uint8Array(70_000);
    server.onChange = () => {
      const from = { address: 0, port: 0 };
      for (let n = B.stack.udpRecvFrom(server, buf, buf.length, from); n >= 0; n = B.stack.udpRecvFrom(server, buf, buf.length, from)) {
        B.stack.udpSendTo(sched.now(), server, buf, n, from.address, from.port);
      }
    };
    const pa = openUdp(A.stack);
    for (const n of [0, 1, 44, 1472, 1473, 65_507]) {
      A.stack.udpSendTo(sched.now(), pa, new Uint8Array(n).map((_, i) => i), n, B.ip, 7);
      run(sched, 1);
    }
    A.stack.udpSendTo(sched.now(), pa, enc.encode('closed port'), 11, B.ip, 9);
    A.stack.udpSendTo(sched.now(), pa, enc.encode('everyone'), 8, 0xffffffff, 5000);
    A.stack.sendIp(sched.now(), { dst: B.ip, protocol: 99, payload: new Uint8Array(16) });
    // A lone first fragment: B times out its reassembly and answers with time exceeded.
    const frag = new Uint8Array(1480);
    frag.set([0xc3, 0x50, 0x00, 0x07, 0x0b, 0xb8, 0x00, 0x00]); // UDP 50000 -> 7, length 3000, no checksum
    cap.transmit(sched.now(), ipFrame({ dstMac: B.mac, srcMac: A.mac, src: A.ip, dst: B.ip, protocol: 17, id: 777, moreFrags: true, payload: frag }));
    run(sched, 31_000);

    const dir = mkdtempSync(join(tmpdir(), 'iotnet-pcap-'));
    const file = join(dir, 'stack.pcap');
    try {
      let n = 0;
      for (const c of chunks) n += c.length;
      const out = new Uint8Array(n);
      let o = 0;
      for (const c of chunks) {
        out.set(c, o);
        o += c.length;
      }
      writeFileSync(file, out);
      assert.equal(tshark(file).length, cap.frames, 'tshark reads every frame');
      const bad = tshark(file, '-Y', '_ws.malformed || _ws.expert.severity >= 0x00800000 || ip.checksum.status == 0 || udp.checksum.status == 0 || icmp.checksum.status == 0');
      assert.deepEqual(bad, [], 'malformed packets, bad checksums or expert errors');
      const count = (filter: string): number => tshark(file, '-Y', filter).length;
      assert.equal(count('arp.opcode == 1 && arp.src.proto_ipv4 == arp.dst.proto_ipv4'), 4, 'two announcements per host');
      assert.equal(count('icmp.type == 0'), 2, 'echo replies (tshark reassembles the 8000-byte one)');
      assert.equal(count('icmp.type == 3 && icmp.code == 3'), 1, 'port unreachable');
      assert.equal(count('icmp.type == 3 && icmp.code == 2'), 1, 'protocol unreachable');
      assert.equal(count('icmp.type == 11 && icmp.code == 1'), 1, 'reassembly time exceeded');
      assert.equal(count('udp.length == 65515'), 2, 'the 65507-byte datagram, both ways, reassembled by tshark');
      assert.equal(count('eth.dst == ff:ff:ff:ff:ff:ff && udp.dstport == 5000'), 1, 'broadcast');
      assert.equal(count('udp.checksum.status == 1 && !icmp'), count('udp && !icmp && ip.id != 777'), 'every UDP checksum the stack computed verified good');
    } finally {
      if (process.env.KEEP_PCAP === undefined) rmSync(dir, { recursive: true, force: true });
      else console.log(file);
    }
  });
});
