/**
 * The Quectel simulator replays the reference's byte sequences exactly (`at-modules.md` §2
 * examples and the §3 canonical exchange, with the peer at 10.0.0.2:8009 on a userspace network
 * instead of 220.180.239.212), compared byte for byte.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TcpSocket } from '../../../../src/socket/tcp-socket.ts';
import { makeRig, PEER, text } from './quectel-rig.ts';

describe('Quectel simulator transcripts', () => {
  it('boots with the BG96 banner and answers the §2 examples (echo on, verbose, numeric)', async () => {
    const rig = await makeRig();
    assert.equal(await rig.boot(), '\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\n+QIND: SMS DONE\r\n\r\n+QIND: PB DONE\r\n');
    assert.equal(await rig.at('AT'), 'AT\r\r\nOK\r\n');
    assert.equal(await rig.at('AT+CPIN?'), 'AT+CPIN?\r\r\n+CPIN: READY\r\n\r\nOK\r\n');
    assert.equal(await rig.at('AT+CSQ'), 'AT+CSQ\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n');
    assert.equal(await rig.at('ATE0'), 'ATE0\r\r\nOK\r\n');
    assert.equal(await rig.at('AT'), '\r\nOK\r\n');
    rig.send('ATV0\r');
    await rig.until(() => rig.peek() === '0\r');
    rig.take();
    rig.send('AT+CPIN?\r');
    await rig.until(() => rig.peek().endsWith('0\r'));
    assert.equal(rig.take(), '+CPIN: READY\r\n0\r');
    rig.send('AT+FOO\r');
    await rig.until(() => rig.peek().endsWith('4\r'));
    assert.equal(rig.take(), '4\r');
    rig.send('ATV1\r');
    await rig.until(() => rig.peek().endsWith('\r\n'));
    assert.equal(rig.take(), '\r\nOK\r\n');
    assert.equal(await rig.at('AT+CREG?'), '\r\n+CREG: 0,1\r\n\r\nOK\r\n');
    await rig.close();
  });

  it('replays the §3 canonical exchange byte for byte', async () => {
    const rig = await makeRig();
    let peer: TcpSocket | undefined;
    const server = await rig.resolve(rig.peerNet.listen({ port: 8009 }));
    void server.accept().then((s) => (peer = s));
    await rig.boot();
    await rig.at('ATE0');
    rig.take();
    assert.equal(await rig.at('AT+QICSGP=1,1,"CMNET"'), '\r\nOK\r\n');
    assert.equal(await rig.at('AT+QIACT=1'), '\r\nOK\r\n');
    assert.equal(await rig.at('AT+QIACT?'), '\r\n+QIACT: 1,1,1,"10.171.134.243"\r\n\r\nOK\r\n');
    assert.equal(await rig.at(`AT+QIOPEN=1,0,"TCP","${PEER}",8009,0,0`), '\r\nOK\r\n');
    assert.equal(await rig.expect('+QIOPEN: 0,0\r\n'), '\r\n+QIOPEN: 0,0\r\n');
    await rig.until(() => peer !== undefined);
    rig.send('AT+QISEND=0,4\r');
    assert.equal(await rig.expect('> '), '\r\n> ');
    rig.send('test');
    assert.equal(await rig.expect('SEND OK\r\n'), '\r\nSEND OK\r\n');
    const chunk = await rig.resolve((peer as TcpSocket).read());
    assert.equal(text(chunk ?? []), 'test');
    void (peer as TcpSocket).write('test1');
    assert.equal(await rig.expect('"recv",0\r\n'), '\r\n+QIURC: "recv",0\r\n');
    assert.equal(await rig.at('AT+QIRD=0,1500'), '\r\n+QIRD: 5\r\ntest1\r\n\r\nOK\r\n');
    assert.equal(await rig.at('AT+QIRD=0,1500'), '\r\n+QIRD: 0\r\n\r\nOK\r\n');
    assert.equal(await rig.at('AT+QIRD=0,0'), '\r\n+QIRD: 5,5,0\r\n\r\nOK\r\n');
    assert.equal(await rig.at('AT+QISEND=0,0'), '\r\n+QISEND: 4,4,0\r\n\r\nOK\r\n');
    assert.equal(await rig.at('AT+QICLOSE=0'), '\r\nOK\r\n');
    await rig.run(100);
    assert.equal(rig.take(), '');
    await rig.close();
  });
});
