/**
 * Fault injection in the Quectel simulator (seeded, virtual time): simulator-level faults (reboot,
 * reboot mid-send, SEND FAIL, registration loss, PDP deactivation) and the serial ones of the shared
 * port (garbage, split, merge, slow, busy, corrupt, URC drop/duplicate/storm, URCs between response
 * lines, after the prompt and before SEND OK). Each shows its effect on the bytes and in the counters.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TcpSocket } from '../../../../src/socket/tcp-socket.ts';
import { online, PEER, type Rig } from './quectel-rig.ts';

async function connect(rig: Rig, id: number, port: number): Promise<TcpSocket> {
  const server = await rig.resolve(rig.peerNet.listen({ port }));
  const acc = rig.resolve(server.accept());
  await rig.at(`AT+QIOPEN=1,${id},"TCP","${PEER}",${port},0,0`);
  await rig.expect(`+QIOPEN: ${id},0`);
  return acc;
}

const URC = '\r\n+QIND: "csq",20,99\r\n';

describe('Quectel simulator faults', () => {
  it('reboot instead of an answer: all socket and PDP state lost, echo back on', async () => {
    const rig = await online();
    const peer = await connect(rig, 0, 9001);
    rig.sim.faults.arm('reboot');
    rig.send('AT+QISTATE?\r');
    const boot = await rig.expect('PB DONE\r\n');
    assert.equal(boot, '\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\n+QIND: SMS DONE\r\n\r\n+QIND: PB DONE\r\n');
    await rig.until(() => rig.sim.net.registered);
    assert.equal(await rig.at('AT+QISTATE?'), 'AT+QISTATE?\r\r\nOK\r\n');
    assert.equal(await rig.at('AT+QIACT?'), 'AT+QIACT?\r\r\nOK\r\n');
    await assert.rejects(rig.resolve(peer.read()), 'the peer sees the connection aborted');
    assert.equal(rig.sim.stats.faults.reboot, 1);
    await rig.close();
  });

  it('reboot mid-transfer (after the prompt): the data typed meanwhile is ignored', async () => {
    const rig = await online();
    await connect(rig, 0, 9002);
    rig.sim.faults.update('rebootInSend', { once: 1, delayMs: 2 });
    rig.send('AT+QISEND=0,5\r');
    await rig.expect('> ');
    await rig.run(5);
    rig.send('hello');
    assert.equal(await rig.expect('PB DONE\r\n'), '\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\n+QIND: SMS DONE\r\n\r\n+QIND: PB DONE\r\n');
    assert.equal(rig.sim.stats.boots, 2);
    assert.ok(rig.sim.stats.port.preBootBytes >= 5);
    await rig.close();
  });

  it('reboot() from the API while data flows', async () => {
    const rig = await online();
    const peer = await connect(rig, 0, 9003);
    await rig.resolve(peer.write('data'));
    await rig.expect('"recv",0');
    rig.sim.reboot();
    await rig.expect('RDY');
    await assert.rejects(rig.resolve(peer.write('more').then(() => peer.read())));
    await rig.close();
  });

  it('sendFail: SEND FAIL, then the next send works', async () => {
    const rig = await online();
    await connect(rig, 0, 9004);
    rig.sim.faults.arm('sendFail');
    assert.equal(await rig.qisend(0, 'ab'), '\r\nSEND FAIL\r\n');
    assert.equal(await rig.qisend(0, 'ab'), '\r\nSEND OK\r\n');
    await rig.close();
  });

  it('registrationLoss and pdpDeact at a command', async () => {
    const rig = await online();
    await rig.at('AT+CEREG=1');
    rig.sim.faults.update('registrationLoss', { once: 1, count: 3, delayMs: 1000 });
    assert.equal(await rig.at('AT'), '\r\n+CEREG: 3\r\n\r\nOK\r\n');
    await rig.run(1000);
    assert.equal(rig.take(), '\r\n+CEREG: 2\r\n');
    await rig.run(rig.sim.net.regDelayMs);
    assert.equal(rig.take(), '\r\n+CEREG: 1\r\n');
    rig.sim.faults.arm('pdpDeact');
    assert.equal(await rig.at('AT'), '\r\n+QIURC: "pdpdeact",1\r\n\r\nOK\r\n');
    await rig.close();
  });

  it('URCs between response lines, after the prompt and before SEND OK', async () => {
    const rig = await online();
    await connect(rig, 0, 9005);
    rig.sim.faults.update('urcBetweenLines', { once: 1, lines: [URC] });
    assert.equal(await rig.at('AT+CSQ'), `\r\n+CSQ: 20,99\r\n${URC}\r\nOK\r\n`);
    rig.sim.faults.update('urcAfterPrompt', { once: 1, lines: [URC] });
    rig.sim.faults.update('urcBeforeSendOk', { once: 1, lines: ['\r\n+CEREG: 1\r\n'] });
    rig.send('AT+QISEND=0,1\r');
    assert.equal(await rig.expect(URC), `\r\n> ${URC}`);
    rig.send('z');
    assert.equal(await rig.expect('SEND OK\r\n'), '\r\n+CEREG: 1\r\n\r\nSEND OK\r\n');
    await rig.close();
  });

  it('garbage, corrupt, split, merge, slow, busy', async () => {
    const rig = await online();
    rig.sim.faults.update('garbage', { once: 1, maxBytes: 4 });
    const g = await rig.at('AT');
    assert.match(g, /^[\x80-\xff]{1,4}\r\n\r\nOK\r\n$/);
    rig.sim.faults.arm('corrupt');
    rig.send('AT+CGMM\r');
    await rig.run(50);
    const c = rig.take();
    const clean = '\r\nBG96\r\n\r\nOK\r\n';
    assert.equal(c.length, clean.length);
    assert.equal([...c].filter((ch, i) => ch !== clean[i]).length, 1, 'exactly one byte changed');
    rig.sim.faults.update('split', { probability: 1, delayMs: 3 });
    rig.sim.faults.update('merge', { probability: 1, delayMs: 3 });
    assert.equal(await rig.at('ATI'), '\r\nQuectel\r\nBG96\r\nRevision: BG96MAR02A07M1G\r\n\r\nOK\r\n', 'same bytes, other chunks');
    rig.sim.faults.clear();
    rig.sim.faults.update('slow', { once: 1, delayMs: 700 });
    const t0 = rig.sched.now();
    await rig.at('AT');
    assert.ok(rig.sched.now() - t0 >= 700);
    rig.sim.faults.arm('busy');
    assert.equal(await rig.at('AT'), '\r\nERROR\r\n', 'Quectel refuses with ERROR, not busy p...');
    assert.ok((rig.sim.stats.faults.split ?? 0) > 0);
    await rig.close();
  });

  it('URC drop, duplicate and storm', async () => {
    const rig = await online();
    const peer = await connect(rig, 0, 9006);
    rig.sim.faults.arm('dropUrc');
    await rig.resolve(peer.write('a'));
    await rig.run(100);
    assert.equal(rig.take(), '', 'the recv URC was lost');
    assert.equal(await rig.at('AT+QIRD=0'), '\r\n+QIRD: 1\r\na\r\n\r\nOK\r\n', 'the data is still there');
    rig.sim.faults.arm('duplicateUrc');
    await rig.resolve(peer.write('b'));
    await rig.run(100);
    assert.equal(rig.take(), '\r\n+QIURC: "recv",0\r\n\r\n+QIURC: "recv",0\r\n');
    rig.sim.faults.update('urcStorm', { once: 1, count: 4, lines: ['\r\n+CEREG: 2\r\n', '\r\n+CEREG: 1\r\n'] });
    rig.send('AT\r');
    await rig.run(50);
    const all = rig.take();
    assert.ok(all.startsWith('\r\nOK\r\n'), all);
    assert.equal(all.match(/\+CEREG: [12]/g)?.length, 4, all);
    await rig.close();
  });

  it('seeded: the same faults and seed give the same bytes', async () => {
    const once = async (): Promise<string> => {
      const rig = await online({ seed: 5, sim: { faults: { garbage: { probability: 0.3 }, corrupt: { probability: 0.2 }, urcBetweenLines: { probability: 0.5 } } } });
      let all = '';
      for (const cmd of ['ATI', 'AT+CSQ', 'AT+CREG?', 'AT+QIACT?', 'AT+CGDCONT?']) {
        rig.send(`${cmd}\r`);
        await rig.run(100);
        all += rig.take();
      }
      await rig.close();
      return all;
    };
    assert.equal(await once(), await once());
  });
});
