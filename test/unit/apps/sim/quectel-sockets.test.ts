/**
 * The Quectel simulator's sockets over a userspace network: buffer and push receive, close rules,
 * connect outcomes, send paths (counted, variable, SEND FAIL, counters, echo), UDP, UDP SERVICE,
 * TCP LISTENER, DNS, context deactivation.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TcpSocket } from '../../../../src/socket/tcp-socket.ts';
import { MODULE_IP, online, PEER, text, type Rig } from './quectel-rig.ts';

/** Booted, echo off, context 1 active. */
/** A peer TCP server on `port`; `accepted()` waits for the next connection. */
async function peerServer(rig: Rig, port: number): Promise<{ accepted: () => Promise<TcpSocket> }> {
  const server = await rig.resolve(rig.peerNet.listen({ port }));
  return { accepted: () => rig.resolve(server.accept()) };
}

/** Opens `id` to the peer and returns the peer's side. */
async function connect(rig: Rig, id: number, port: number, mode = 0): Promise<TcpSocket> {
  const server = await peerServer(rig, port);
  const acceptedP = server.accepted();
  assert.equal(await rig.at(`AT+QIOPEN=1,${id},"TCP","${PEER}",${port},0,${mode}`), '\r\nOK\r\n');
  assert.equal(await rig.expect(`+QIOPEN: ${id},0\r\n`), `\r\n+QIOPEN: ${id},0\r\n`);
  return acceptedP;
}

describe('Quectel simulator sockets', () => {
  it('buffer mode: one recv URC until drained by QIRD, reads in pieces, counters', async () => {
    const rig = await online();
    const peer = await connect(rig, 0, 8009);
    const big = 'x'.repeat(3000) + 'END';
    await rig.resolve(peer.write(big));
    await rig.expect('"recv",0\r\n');
    await rig.resolve(peer.write('more'));
    await rig.run(100);
    assert.equal(rig.take(), '', 'no second URC before the buffer was drained');
    const r1 = await rig.at('AT+QIRD=0,1500');
    assert.equal(r1, `\r\n+QIRD: 1500\r\n${'x'.repeat(1500)}\r\n\r\nOK\r\n`);
    assert.equal(await rig.at('AT+QIRD=0,0'), '\r\n+QIRD: 3007,1500,1507\r\n\r\nOK\r\n');
    const r2 = await rig.at('AT+QIRD=0');
    assert.equal(r2, `\r\n+QIRD: 1500\r\n${'x'.repeat(1500)}\r\n\r\nOK\r\n`);
    assert.equal(await rig.at('AT+QIRD=0,10'), '\r\n+QIRD: 7\r\nENDmore\r\n\r\nOK\r\n');
    await rig.resolve(peer.write('again'));
    assert.equal(await rig.expect('"recv",0\r\n'), '\r\n+QIURC: "recv",0\r\n', 'a new URC once drained');
    assert.equal(await rig.at('AT+QIRD=5'), '\r\nERROR\r\n', 'unknown id');
    await rig.close();
  });

  it('BG95 adds the length to the buffer-mode recv URC', async () => {
    const rig = await online({ sim: { model: 'BG95' } });
    const peer = await connect(rig, 1, 8010);
    await rig.resolve(peer.write('hello'));
    assert.equal(await rig.expect('"recv"'), '\r\n+QIURC: "recv",1,5\r\n');
    await rig.close();
  });

  it('push mode: +QIURC: "recv",<id>,<len> then the bytes; QIRD refused', async () => {
    const rig = await online();
    const peer = await connect(rig, 2, 8011, 1);
    await rig.resolve(peer.write('he\r\nOK\r\n'));
    assert.equal(await rig.expect('OK\r\n\r\n'), '\r\n+QIURC: "recv",2,8\r\nhe\r\nOK\r\n\r\n');
    assert.equal(await rig.at('AT+QIRD=2'), '\r\nERROR\r\n');
    assert.equal(await rig.at('AT+QISTATE=1,2'), `\r\n+QISTATE: 2,"TCP","${PEER}",8011,${rig.sim.sockets.get(2)?.lport},2,1,0,1,"uart1"\r\n\r\nOK\r\n`);
    await rig.close();
  });

  it('peer close: +QIURC: "closed", state 4, data still readable, id taken until QICLOSE', async () => {
    const rig = await online();
    const peer = await connect(rig, 0, 8012);
    await rig.resolve(peer.write('bye'));
    await rig.resolve(peer.end());
    const out = await rig.expect('"closed",0\r\n');
    assert.equal(out, '\r\n+QIURC: "recv",0\r\n\r\n+QIURC: "closed",0\r\n');
    assert.match(await rig.at('AT+QISTATE=1,0'), /^\r\n\+QISTATE: 0,"TCP","10\.0\.0\.2",8012,\d+,4,1,0,0,"uart1"\r\n\r\nOK\r\n$/);
    assert.equal(await rig.at('AT+QIRD=0'), '\r\n+QIRD: 3\r\nbye\r\n\r\nOK\r\n');
    rig.send('AT+QISEND=0,3\r');
    assert.equal(await rig.expect('ERROR\r\n'), '\r\nERROR\r\n', 'not connected: ERROR, no prompt');
    assert.equal(await rig.at(`AT+QIOPEN=1,0,"TCP","${PEER}",8012,0,0`), '\r\nOK\r\n');
    assert.equal(await rig.expect('+QIOPEN'), '\r\n+QIOPEN: 0,563\r\n');
    assert.equal(await rig.at('AT+QICLOSE=0'), '\r\nOK\r\n');
    assert.equal(await rig.at('AT+QISTATE=1,0'), '\r\nOK\r\n');
    assert.equal(await rig.at('AT+QICLOSE=7'), '\r\nOK\r\n', 'closing a free id is harmless');
    await rig.close();
  });

  it('connect outcomes: refused 566, DNS 565, no PDP 561, PDP broken 570, bad parameters, transparent', async () => {
    const rig = await online({ dns: true });
    assert.equal(await rig.at(`AT+QIOPEN=1,0,"TCP","${PEER}",9,0,0`), '\r\nOK\r\n');
    assert.equal(await rig.expect('+QIOPEN'), '\r\n+QIOPEN: 0,566\r\n');
    assert.equal(await rig.at('AT+QIGETERROR'), '\r\n+QIGETERROR: 566,socket connect failed\r\n\r\nOK\r\n');
    assert.equal(await rig.at('AT+QIOPEN=1,0,"TCP","nowhere.iot.test",80,0,0'), '\r\nOK\r\n');
    assert.equal(await rig.expect('+QIOPEN', 60_000), '\r\n+QIOPEN: 0,565\r\n');
    assert.equal(await rig.at(`AT+QIOPEN=2,0,"TCP","${PEER}",80,0,0`), '\r\nOK\r\n');
    assert.equal(await rig.expect('+QIOPEN'), '\r\n+QIOPEN: 0,561\r\n');
    rig.sim.deactivatePdp(1);
    await rig.expect('pdpdeact');
    assert.equal(await rig.at(`AT+QIOPEN=1,0,"TCP","${PEER}",80,0,0`), '\r\nOK\r\n');
    assert.equal(await rig.expect('+QIOPEN'), '\r\n+QIOPEN: 0,570\r\n');
    assert.equal(await rig.at(`AT+QIOPEN=1,12,"TCP","${PEER}",80,0,0`), '\r\nERROR\r\n');
    assert.equal(await rig.at(`AT+QIOPEN=1,0,"SCTP","${PEER}",80,0,0`), '\r\nERROR\r\n');
    assert.equal(await rig.at(`AT+QIOPEN=1,0,"TCP","${PEER}",80,0,2`), '\r\nERROR\r\n', 'transparent mode not simulated');
    assert.equal(await rig.at('AT+QIGETERROR'), '\r\n+QIGETERROR: 555,operation not supported\r\n\r\nOK\r\n');
    await rig.close();
  });

  it('connects by name through the network DNS; QIDNSGIP', async () => {
    const rig = await online({ dns: true });
    const server = await peerServer(rig, 8013);
    const acc = server.accepted();
    assert.equal(await rig.at('AT+QIOPEN=1,4,"TCP","peer.iot.test",8013,0,0'), '\r\nOK\r\n');
    assert.equal(await rig.expect('+QIOPEN'), '\r\n+QIOPEN: 4,0\r\n');
    await acc;
    assert.equal(await rig.at('AT+QIDNSGIP=1,"peer.iot.test"'), '\r\nOK\r\n');
    assert.equal(await rig.expect(`"dnsgip","${PEER}"\r\n`), `\r\n+QIURC: "dnsgip",0,1,600\r\n\r\n+QIURC: "dnsgip","${PEER}"\r\n`);
    assert.equal(await rig.at('AT+QIDNSGIP=1,"missing.iot.test"'), '\r\nOK\r\n');
    assert.equal(await rig.expect('"dnsgip",', 60_000), '\r\n+QIURC: "dnsgip",565\r\n');
    await rig.close();
  });

  it('sends: counted binary data, variable data ending on 0x1A, ESC cancels, QISENDEX, counters, data echo', async () => {
    const rig = await online();
    const peer = await connect(rig, 0, 8014);
    const payload = '\r\nOK\r\n\x1a\x00\xff>';
    rig.send('AT+QISEND=0,10\r');
    assert.equal(await rig.expect('> '), '\r\n> ');
    rig.send(payload);
    assert.equal(await rig.expect('SEND OK\r\n'), '\r\nSEND OK\r\n');
    assert.equal(await rig.readText(peer, 10), payload);
    rig.send('AT+QISEND=0\r');
    await rig.expect('> ');
    rig.send('abc\x1a');
    assert.equal(await rig.expect('SEND OK\r\n'), '\r\nSEND OK\r\n');
    assert.equal(await rig.readText(peer, 3), 'abc');
    rig.send('AT+QISEND=0\r');
    await rig.expect('> ');
    rig.send('zzz\x1b');
    assert.equal(await rig.expect('ERROR\r\n'), '\r\nERROR\r\n');
    assert.equal(await rig.at('AT+QIGETERROR'), '\r\n+QIGETERROR: 571,cancel send\r\n\r\nOK\r\n');
    rig.send('AT+QISENDEX=0,"3132"\r');
    assert.equal(await rig.expect('SEND OK\r\n'), '\r\nSEND OK\r\n');
    assert.equal(await rig.readText(peer, 2), '12');
    assert.equal(await rig.at('AT+QISEND=0,0'), '\r\n+QISEND: 15,15,0\r\n\r\nOK\r\n');
    assert.equal(await rig.at('AT+QISEND=0,1461'), '\r\nERROR\r\n');
    // Echo on: the command and the data typed after the prompt come back, unless QISDE=0.
    await rig.at('ATE1');
    rig.send('AT+QISEND=0,2\r');
    assert.equal(await rig.expect('> '), 'AT+QISEND=0,2\r\r\n> ');
    rig.send('hi');
    assert.equal(await rig.expect('SEND OK\r\n'), 'hi\r\nSEND OK\r\n');
    await rig.at('AT+QISDE=0');
    rig.send('AT+QISEND=0,2\r');
    await rig.expect('> ');
    rig.send('ho');
    assert.equal(await rig.expect('SEND OK\r\n'), '\r\nSEND OK\r\n');
    assert.equal(await rig.readText(peer, 4), 'hiho');
    assert.equal(rig.sim.stats.sendOk, 5);
    await rig.close();
  });

  it('SEND FAIL when the send buffer cannot take the data', async () => {
    const rig = await online({ sim: { sockets: { sendBufferBytes: 8 } } });
    await connect(rig, 0, 8015);
    assert.equal(await rig.qisend(0, '0123456789'), '\r\nSEND FAIL\r\n');
    assert.equal(await rig.qisend(0, '01234567'), '\r\nSEND OK\r\n');
    assert.equal(rig.sim.stats.sendFail, 1);
    await rig.close();
  });

  it('UDP client and UDP SERVICE', async () => {
    const rig = await online();
    const udpPeer = await rig.resolve(rig.peerNet.udp({ port: 7000 }));
    assert.equal(await rig.at(`AT+QIOPEN=1,2,"UDP","${PEER}",7000,0,0`), '\r\nOK\r\n');
    assert.equal(await rig.expect('+QIOPEN'), '\r\n+QIOPEN: 2,0\r\n');
    rig.send('AT+QISEND=2,4\r');
    await rig.expect('> ');
    rig.send('ping');
    await rig.expect('SEND OK\r\n');
    const d = await rig.resolve(udpPeer.recv());
    assert.equal(text(d.data), 'ping');
    assert.equal(d.from.address, MODULE_IP);
    await rig.resolve(udpPeer.send('pong', d.from));
    assert.equal(await rig.expect('"recv",2\r\n'), '\r\n+QIURC: "recv",2\r\n');
    assert.equal(await rig.at('AT+QIRD=2'), '\r\n+QIRD: 4\r\npong\r\n\r\nOK\r\n');

    assert.equal(await rig.at('AT+QIOPEN=1,3,"UDP SERVICE","127.0.0.1",0,5000,0'), '\r\nOK\r\n');
    assert.equal(await rig.expect('+QIOPEN'), '\r\n+QIOPEN: 3,0\r\n');
    await rig.resolve(udpPeer.send('hey!', `${MODULE_IP}:5000`));
    assert.equal(await rig.expect('"recv",3\r\n'), '\r\n+QIURC: "recv",3\r\n');
    assert.equal(await rig.at('AT+QIRD=3'), '\r\n+QIRD: 4,"10.0.0.2",7000\r\nhey!\r\n\r\nOK\r\n');
    assert.equal(await rig.at('AT+QIRD=3'), '\r\n+QIRD: 0\r\n\r\nOK\r\n');
    rig.send('AT+QISEND=3,3,"10.0.0.2",7000\r');
    await rig.expect('> ');
    rig.send('svc');
    await rig.expect('SEND OK\r\n');
    const d2 = await rig.resolve(udpPeer.recv());
    assert.equal(text(d2.data), 'svc');
    assert.equal(d2.from.port, 5000);
    rig.send('AT+QISEND=3,3\r');
    assert.equal(await rig.expect('ERROR\r\n'), '\r\nERROR\r\n', 'UDP SERVICE needs a destination');
    assert.equal(await rig.at('AT+QISTATE=1,3'), '\r\n+QISTATE: 3,"UDP SERVICE","127.0.0.1",0,5000,2,1,0,0,"uart1"\r\n\r\nOK\r\n');
    // Push mode UDP SERVICE carries the sender.
    assert.equal(await rig.at('AT+QIOPEN=1,4,"UDP SERVICE","127.0.0.1",0,5001,1'), '\r\nOK\r\n');
    await rig.expect('+QIOPEN: 4,0');
    await rig.resolve(udpPeer.send('p', `${MODULE_IP}:5001`));
    assert.equal(await rig.expect('p\r\n'), '\r\n+QIURC: "recv",4,1,"10.0.0.2",7000\r\np\r\n');
    await rig.close();
  });

  it('TCP LISTENER: incoming links take free ids; incoming full; QIDEACT frees everything', async () => {
    const rig = await online();
    assert.equal(await rig.at('AT+QIOPEN=1,11,"TCP LISTENER","127.0.0.1",0,2020,0'), '\r\nOK\r\n');
    assert.equal(await rig.expect('+QIOPEN'), '\r\n+QIOPEN: 11,0\r\n');
    const c1 = await rig.resolve(rig.peerNet.connect(`${MODULE_IP}:2020`));
    const urc = await rig.expect('"incoming"');
    assert.equal(urc, `\r\n+QIURC: "incoming",0,11,"${PEER}",${c1.localAddress.port}\r\n`);
    await rig.resolve(c1.write('in!'));
    await rig.expect('"recv",0');
    assert.equal(await rig.at('AT+QIRD=0'), '\r\n+QIRD: 3\r\nin!\r\n\r\nOK\r\n');
    rig.send('AT+QISEND=0,3\r');
    await rig.expect('> ');
    rig.send('out');
    await rig.expect('SEND OK');
    assert.equal(await rig.readText(c1, 3), 'out');
    const state = await rig.at('AT+QISTATE?');
    assert.match(state, /\+QISTATE: 0,"TCP INCOMING","10\.0\.0\.2",\d+,2020,2,1,11,0,"uart1"\r\n\+QISTATE: 11,"TCP LISTENER","127\.0\.0\.1",0,2020,3,1,11,0,"uart1"\r\n\r\nOK\r\n$/);
    assert.equal(await rig.at('AT+QIRD=11'), '\r\nERROR\r\n', 'a listener has nothing to read');
    // Take ids 1..10 with more incoming links; the next one is refused.
    for (let i = 1; i <= 10; i++) {
      await rig.resolve(rig.peerNet.connect(`${MODULE_IP}:2020`));
      await rig.expect(`"incoming",${i},11`);
    }
    void rig.peerNet.connect(`${MODULE_IP}:2020`).then((s) => s.destroy(), () => undefined);
    assert.equal(await rig.expect('"incoming full"'), '\r\n+QIURC: "incoming full"\r\n');
    assert.equal(await rig.at('AT+QIDEACT=1'), '\r\nOK\r\n');
    assert.equal(await rig.at('AT+QISTATE?'), '\r\nOK\r\n');
    assert.equal(rig.sim.stats.sockets.accepted, 11);
    await rig.close();
  });
});
