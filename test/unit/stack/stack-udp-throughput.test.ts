/**
 * UDP throughput between two stacks on a virtual cable: 1472-byte datagrams (one
 * unfragmented 1500-byte IP packet each), measured in wall-clock time while the stacks
 * run on virtual time (so the figure is the stacks' CPU cost: build, checksum, link copy,
 * parse, verify, demultiplex, copy into the socket queue, copy out). Printed as a test
 * diagnostic; the assertion is only a loose floor against gross regressions.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createUserspaceBackend } from '../../../src/backends/userspace/index.ts';
import type { CoreSocket } from '../../../src/backends/contract.ts';
import { IotSocketLayer } from '../../../src/socket/iot-socket-layer.ts';
import { openUdp, run, settle, twoHosts } from '../../support/stack-net.ts';

describe('Stack: UDP throughput (1472-byte datagrams, two stacks on a cable)', () => {
  it('measures MB/s of payload delivered', (t) => {
    const { sched, A, B } = twoHosts();
    run(sched);
    const rx = openUdp(B.stack, 9000);
    const tx = openUdp(A.stack);
    const payload = new Uint8Array(1472).map((_, i) => i);
    const sink = new Uint8Array(2048);
    let received = 0;
    let bytes = 0;
    rx.onChange = () => {
      for (let n = B.stack.udpRecvFrom(rx, sink); n >= 0; n = B.stack.udpRecvFrom(rx, sink)) {
        received++;
        bytes += n;
      }
    };
    // Warm-up (ARP, JIT), then the measured run.
    const burst = 256; // below the cable's 1024-frame queue and the PCB's 256-datagram queue
    const sendBursts = (count: number): void => {
      for (let i = 0; i < count; i++) {
        for (let j = 0; j < burst; j++) A.stack.udpSendTo(sched.now(), tx, payload, 1472, B.ip, 9000);
        run(sched);
      }
    };
    sendBursts(40);
    received = 0;
    bytes = 0;
    const bursts = 200;
    const t0 = performance.now();
    sendBursts(bursts);
    const ms = performance.now() - t0;
    assert.equal(received, bursts * burst, 'every datagram delivered');
    assert.equal(B.stack.stats.drops.queueFull + A.stack.stats.drops.txFailed, 0);
    const mbps = bytes / 1e6 / (ms / 1000);
    t.diagnostic(`${received} datagrams, ${(bytes / 1e6).toFixed(1)} MB payload in ${ms.toFixed(0)} ms: ${mbps.toFixed(0)} MB/s (${((received / ms) * 1000).toFixed(0)} datagrams/s), wall clock, virtual-time stacks`);
    assert.ok(mbps > 5, `${mbps.toFixed(1)} MB/s`);
  });

  it('through the userspace backend (CoreSocket send/recv) and the IoT Socket layer (non-blocking SendTo/Recv)', async (t) => {
    const { sched, A, B } = twoHosts();
    run(sched);
    const ba = createUserspaceBackend(A.stack, A.runner);
    const bb = createUserspaceBackend(B.stack, B.runner);
    const sa = ba.createSocket(1, 2) as CoreSocket;
    const sb = bb.createSocket(1, 2) as CoreSocket;
    assert.equal(sb.bind(new Uint8Array(4), 9000), 0);
    const dst = { address: Uint8Array.of(10, 0, 0, 2), port: 9000 };
    const payload = new Uint8Array(1472).map((_, i) => i);
    const sink = new Uint8Array(2048);
    const core = (bursts: number): number => {
      let bytes = 0;
      for (let i = 0; i < bursts; i++) {
        for (let j = 0; j < 128; j++) sa.send(payload, 1472, dst); // 128 x 1472 fits the 256 KiB PCB queue
        run(sched);
        for (let n = sb.recv(sink, 2048); n >= 0; n = sb.recv(sink, 2048)) bytes += n;
      }
      return bytes;
    };
    core(80);
    let t0 = performance.now();
    let bytes = core(400);
    let ms = performance.now() - t0;
    assert.equal(bytes, 400 * 128 * 1472);
    t.diagnostic(`CoreSocket: ${(bytes / 1e6 / (ms / 1000)).toFixed(0)} MB/s`);

    const la = new IotSocketLayer(ba, { scheduler: sched }).api();
    const lb = new IotSocketLayer(bb, { scheduler: sched }).api();
    const ia = await la.socketCreate(1, 2, 0);
    const ib = await lb.socketCreate(1, 2, 0);
    await lb.socketBind(ib, new Uint8Array(4), 4, 9001);
    const nb = new Uint8Array([1, 0, 0, 0]);
    await lb.socketSetOpt(ib, 1, nb, 4);
    const ip = Uint8Array.of(10, 0, 0, 2);
    const layer = async (bursts: number): Promise<number> => {
      let total = 0;
      for (let i = 0; i < bursts; i++) {
        for (let j = 0; j < 128; j++) await la.socketSendTo(ia, payload, 1472, ip, 4, 9001);
        run(sched);
        for (let n = await lb.socketRecv(ib, sink, 2048); n >= 0; n = await lb.socketRecv(ib, sink, 2048)) total += n;
      }
      return total;
    };
    await layer(40);
    t0 = performance.now();
    bytes = await layer(200);
    ms = performance.now() - t0;
    assert.equal(bytes, 200 * 128 * 1472);
    t.diagnostic(`IoT Socket layer (await per call): ${(bytes / 1e6 / (ms / 1000)).toFixed(0)} MB/s`);
    await settle(sched);
  });
});
