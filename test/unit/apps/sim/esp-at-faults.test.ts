/**
 * ESP-AT simulator faults: the SEND result faults, URC injection at the §5.12 points (NONOS echo
 * splice included), a reboot at a data point, and random host bytes that never throw.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { XorShiftRng } from '../../../../src/base/rand.ts';
import { espHarness } from './esp-at-harness.ts';

describe('ESP simulator faults', () => {
  it('SEND FAIL, SEND FAIL then SEND OK, ERROR then SEND OK, missing SEND OK; URCs after > and before SEND OK', async () => {
    const h = await espHarness({ bootNoise: false });
    await h.online();
    const server = h.netB.listen({ port: 8080 });
    await h.run(1);
    await h.cmd('AT+CIPSTART=0,"TCP","10.0.0.2",8080\r\n');
    const send = async (): Promise<string> => {
      h.send('AT+CIPSEND=0,2\r\n');
      await h.waitFor('>');
      h.send('ab');
      await h.waitFor('bytes\r\n');
      await h.run(50);
      return h.take();
    };
    const f = h.sim.faults;
    f.arm('sendFail');
    assert.equal(await send(), '\r\nOK\r\n\r\n>\r\nRecv 2 bytes\r\n\r\nSEND FAIL\r\n');
    f.arm('sendFailThenOk');
    assert.equal(await send(), '\r\nOK\r\n\r\n>\r\nRecv 2 bytes\r\n\r\nSEND FAIL\r\n\r\nSEND OK\r\n');
    f.arm('errorThenSendOk');
    assert.equal(await send(), '\r\nOK\r\n\r\n>\r\nRecv 2 bytes\r\n\r\nERROR\r\n\r\nSEND OK\r\n');
    f.arm('missingSendOk');
    assert.equal(await send(), '\r\nOK\r\n\r\n>\r\nRecv 2 bytes\r\n');
    f.update('urcAfterPrompt', { once: 1, lines: ['+STA_CONNECTED:"11:22:33:44:55:66"\r\n'] });
    f.update('urcBeforeSendOk', { once: 1, lines: ['WIFI GOT IP\r\n'] });
    assert.equal(await send(), '\r\nOK\r\n\r\n>+STA_CONNECTED:"11:22:33:44:55:66"\r\n\r\nRecv 2 bytes\r\nWIFI GOT IP\r\n\r\nSEND OK\r\n');
    assert.equal(h.sim.stats.sendOk, 4, 'the missing SEND OK was a success');
    assert.equal(h.sim.stats.sendFail, 1);
    assert.equal(f.stats.sendFail, 1);
    f.arm('reboot');
    h.send('AT+CIPSEND=0,2\r\n');
    await h.waitFor('>');
    h.send('ab');
    await h.waitFor('ready\r\n');
    assert.match(h.take(), /^\r\nOK\r\n\r\n>\r\nwdt reset\r\n\r\nready\r\n$/);
    assert.equal(h.sim.stats.crashes, 1);
    await (await server).close();
    h.sim.close();
  });

  it('NONOS: a URC spliced into the command echo', async () => {
    const h = await espHarness({ dialect: 'nonos', bootNoise: false });
    await h.boot(false);
    h.sim.faults.update('urcInEcho', { once: 1, lines: ['1,CONNECT\r\n'] });
    const out = await h.cmd('AT+CWMODE_CUR?\r\n');
    assert.ok(out.includes('1,CONNECT\r\n'), JSON.stringify(out));
    assert.equal(out.replace('1,CONNECT\r\n', ''), 'AT+CWMODE_CUR?\r\r\n+CWMODE_CUR:1\r\n\r\nOK\r\n');
    h.sim.close();
  });

  it('random host bytes never throw and the module still answers AT afterwards', async () => {
    const h = await espHarness({ bootNoise: false, faults: { split: { probability: 0.3 }, garbage: { probability: 0.05 } } });
    await h.online();
    const rng = new XorShiftRng(77);
    for (let round = 0; round < 30; round++) {
      const n = 1 + (rng.nextU32() % 200);
      const bytes = new Uint8Array(n).map(() => rng.nextU32() & 0xff);
      if (round % 3 === 0) bytes.set(Uint8Array.from('AT+CIPSEND=0,5\r\n', (c) => c.charCodeAt(0)).subarray(0, Math.min(n, 16)));
      h.send(bytes);
      await h.run(20_000);
    }
    h.sim.faults.clear();
    // Whatever state the garbage left (a data phase waiting for bytes, a half line), a few
    // newlines and 8 KiB of filler end it; then AT works.
    h.send(new Uint8Array(8200).fill(0x0a));
    await h.run(100);
    h.take();
    const out = await h.cmd('AT\r\n', '\r\nOK\r\n');
    assert.ok(out.endsWith('\r\nOK\r\n'), JSON.stringify(out));
    assert.equal(h.sim.port.stats.handlerErrors, 0);
    h.sim.close();
  });
});
