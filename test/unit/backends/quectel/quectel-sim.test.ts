// The Quectel driver against the full simulator (src/apps/sim/quectel) whose sockets run over a
// userspace network with a peer host: bring-up from power-on, the socket backend through Network
// (connect, echo both ways, peer close, DNS), and the simulator's faults (SEND FAIL, reboot).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { XorShiftRng } from '../../../../src/base/rand.ts';
import { isSocketError } from '../../../../src/base/socket-error.ts';
import { createQuectel, type Quectel } from '../../../../src/backends/quectel/index.ts';
import { Network } from '../../../../src/socket/network.ts';
import type { TcpSocket } from '../../../../src/socket/tcp-socket.ts';
import { makeRig, MODULE_IP, PEER, text, type Rig, type RigOptions } from '../../apps/sim/quectel-rig.ts';
import { EventLog } from './fake-quectel.ts';

interface Stack {
  rig: Rig;
  q: Quectel;
  net: Network;
}

async function online(seed: number, options: RigOptions = {}): Promise<Stack> {
  const rig = await makeRig({
    seed,
    dns: true,
    pipe: { chunking: { rng: new XorShiftRng(seed + 100), min: 1, max: 32 } },
    ...options,
    sim: { pdpAddress: MODULE_IP, ...options.sim },
  });
  rig.sim.powerOn();
  const q = createQuectel({ stream: rig.host, scheduler: rig.sched, apn: 'internet', backend: { rng: new XorShiftRng(seed + 200) } });
  await rig.resolve(q.modem.start(), 400_000);
  const net = new Network(q.backend, { scheduler: rig.sched, rng: new XorShiftRng(seed + 300) });
  return { rig, q, net };
}

async function readN(rig: Rig, s: TcpSocket, n: number): Promise<string> {
  let got = '';
  while (got.length < n) {
    const c = await rig.resolve(s.read());
    if (c === null) break;
    got += text(c);
  }
  return got;
}

async function close(st: Stack): Promise<void> {
  await st.rig.resolve(st.net.close());
  await st.rig.close();
}

describe('Quectel driver against the simulator', () => {
  for (const seed of [1, 2]) {
    it(`power-on bring-up, then a TCP echo through Network both ways and the peer's close (seed ${seed})`, async () => {
      const st = await online(seed);
      const { rig, q, net } = st;
      assert.equal(q.modem.status, 'pdp-active');
      assert.equal(q.modem.identity?.model, 'BG96');
      assert.equal(q.modem.address, MODULE_IP);
      const server = await rig.resolve(rig.peerNet.listen({ port: 7000 }));
      const acceptP = rig.resolve(server.accept());
      const sock = await rig.resolve(net.connect(`${PEER}:7000`));
      const peer = await acceptP;
      const payload = Array.from({ length: 5000 }, (_, i) => String.fromCharCode(i % 256)).join('');
      await rig.resolve(sock.write(Uint8Array.from(payload, (c) => c.charCodeAt(0))));
      assert.equal(await readN(rig, peer, payload.length), payload);
      await rig.resolve(peer.write('\r\nOK\r\n+QIRD: 5\r\n> reply'));
      assert.equal(await readN(rig, sock, 23), '\r\nOK\r\n+QIRD: 5\r\n> reply');
      await rig.resolve(peer.end());
      assert.equal(await rig.resolve(sock.read()), null);
      await rig.run(1000);
      assert.deepEqual(q.driver.linkIds, []);
      await close(st);
    });
  }

  it('lookup through AT+QIDNSGIP; an unknown name is EHOSTNOTFOUND', async () => {
    const st = await online(3);
    assert.equal(await st.rig.resolve(st.net.lookup('peer.iot.test')), PEER);
    await assert.rejects(st.rig.resolve(st.net.lookup('nope.iot.test')), (e) => isSocketError(e, 'EHOSTNOTFOUND'));
    await close(st);
  });

  it('driver level: readable, reads never beyond max, closed after the last byte', async () => {
    const rig = await makeRig({ seed: 4, sim: { pdpAddress: MODULE_IP }, pipe: { chunking: { rng: new XorShiftRng(9), min: 1, max: 8 } } });
    rig.sim.powerOn();
    const q = createQuectel({ stream: rig.host, scheduler: rig.sched, apn: 'internet', backend: { rng: new XorShiftRng(1) } });
    const events = new EventLog();
    q.driver.attach(events); // instead of the backend: watch the driver's events directly
    await rig.resolve(q.modem.start(), 400_000);
    const server = await rig.resolve(rig.peerNet.listen({ port: 7001 }));
    const acceptP = rig.resolve(server.accept());
    const { id } = await rig.resolve(q.driver.open({ kind: 'tcp', af: 1, remote: { address: new Uint8Array([10, 0, 0, 2]), port: 7001 }, localPort: 0, keepAliveS: 0 }));
    const peer = await acceptP;
    await rig.resolve(peer.write('0123456789'));
    await rig.until(() => events.log.length > 0);
    assert.deepEqual(events.log, [`readable ${id} -1`]);
    assert.equal(text((await rig.resolve(q.driver.read(id, 4))).bytes), '0123');
    await rig.resolve(peer.end());
    await rig.run(2000);
    let rest = '';
    for (;;) {
      const got = await rig.resolve(q.driver.read(id, 4));
      assert.ok(got.bytes.length <= 4);
      if (got.bytes.length === 0) break;
      rest += text(got.bytes);
    }
    assert.equal(rest, '456789');
    await rig.until(() => events.log.includes(`closed ${id}`), 30_000);
    assert.deepEqual(q.driver.linkIds, []);
    await rig.close();
  });

  it('SEND FAIL from the simulator is retried by the backend; the peer gets every byte once', async () => {
    const st = await online(5);
    const { rig, net } = st;
    const server = await rig.resolve(rig.peerNet.listen({ port: 7002 }));
    const acceptP = rig.resolve(server.accept());
    const sock = await rig.resolve(net.connect(`${PEER}:7002`));
    const peer = await acceptP;
    rig.sim.setFaults({ sendFail: { probability: 0.4 } });
    const data = 'abcdefghij'.repeat(400);
    await rig.resolve(sock.write(data));
    assert.equal(await readN(rig, peer, data.length), data);
    assert.ok(st.q.driver.stats.sendFails > 0, 'the fault fired');
    await close(st);
  });

  it('a simulator reboot: the socket fails ECONNABORTED module-reset, the modem comes back, a new connection works', async () => {
    const st = await online(6);
    const { rig, q, net } = st;
    const server = await rig.resolve(rig.peerNet.listen({ port: 7003 }));
    const acceptP = rig.resolve(server.accept());
    const sock = await rig.resolve(net.connect(`${PEER}:7003`));
    await acceptP;
    const readP = rig.resolve(sock.read()).then(
      () => 'no error',
      (e: unknown) => (isSocketError(e) ? `${e.code} ${e.detail.reason ?? ''}` : String(e)),
    );
    rig.sim.reboot();
    assert.match(await readP, /^ECONNABORTED/); // the backend's sockets keep the code, not the driver's reason
    assert.ok(q.backend.stats.losses >= 1);
    await rig.until(() => q.modem.status === 'pdp-active', 300_000);
    const accept2 = rig.resolve(server.accept());
    const again = await rig.resolve(net.connect(`${PEER}:7003`));
    const peer2 = await accept2;
    await rig.resolve(again.write('after reboot'));
    assert.equal(await readN(rig, peer2, 12), 'after reboot');
    await close(st);
  });
});

describe('Quectel driver bring-up over a line that garbles bytes read at the wrong rate', () => {
  it('start() at once after power-on: the baud sweep runs while the modem boots, then the original rate answers', async () => {
    const st = await online(41, { pipe: { baudRate: 115200, garbleOnBaudMismatch: true } });
    assert.equal(st.q.modem.status, 'pdp-active');
    assert.equal(st.rig.host.baudRate, 115200, 'back at the rate the modem runs at');
    await close(st);
  });
});
