/**
 * ESP-AT simulator transcripts: the exact byte sequences of reference §1.3 and the §1.6 canonical
 * exchange, for ESP-AT v2 and NONOS 1.7, compared byte for byte (real TCP to a peer on a second
 * userspace stack, virtual time).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { latin1Text } from '../../../../src/apps/sim/at-sim-port.ts';
import { espHarness } from './esp-at-harness.ts';

for (const dialect of ['esp-at', 'nonos'] as const) {
  const nonos = dialect === 'nonos';
  const cur = nonos ? '_CUR' : '';
  describe(`ESP simulator transcript (${dialect})`, () => {
    it('boot, echo, queries, multi-line replies and errors (§1.3)', async () => {
      const h = await espHarness({ dialect, bootNoise: false });
      h.sim.powerOn();
      await h.waitFor('ready');
      assert.equal(h.take(), '\r\nready\r\n');
      assert.equal(await h.cmd('AT\r\n'), nonos ? 'AT\r\r\n\r\nOK\r\n' : 'AT\r\n\r\nOK\r\n');
      assert.equal(await h.cmd('ATE0\r\n'), nonos ? 'ATE0\r\r\n\r\nOK\r\n' : 'ATE0\r\n\r\nOK\r\n');
      assert.equal(await h.cmd('AT\r\n'), '\r\nOK\r\n');
      assert.equal(await h.cmd(`AT+CWMODE${cur}?\r\n`), `+CWMODE${cur}:1\r\n\r\nOK\r\n`);
      assert.equal(await h.cmd('at\r\n', 'ERROR\r\n'), '\r\nERROR\r\n');
      assert.equal(await h.cmd('AT+NOPE\r\n', 'ERROR\r\n'), '\r\nERROR\r\n');
      assert.equal(await h.cmd(`AT+CWJAP${cur}="my\\,ssid","wrong"\r\n`, nonos ? 'FAIL\r\n' : 'ERROR\r\n'), `+CWJAP:2\r\n\r\n${nonos ? 'FAIL' : 'ERROR'}\r\n`);
      assert.equal(await h.cmd(`AT+CWJAP${cur}="my\\,ssid","pa\\"ss"\r\n`), 'WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n');
      assert.equal(
        await h.cmd(`AT+CIPSTA${cur}?\r\n`),
        `+CIPSTA${cur}:ip:"10.0.0.1"\r\n+CIPSTA${cur}:gateway:"10.0.0.254"\r\n+CIPSTA${cur}:netmask:"255.255.255.0"\r\n\r\nOK\r\n`,
      );
      const gmr = await h.cmd('AT+GMR\r\n');
      assert.ok(gmr.startsWith(nonos ? 'AT version:1.7.0.0(Aug 16 2018 00:57:04)\r\n' : 'AT version:2.2.0.0-dev(ca41ec4 - ESP32 - Sep 16 2020 11:28:17)\r\n'), gmr);
      assert.ok(gmr.endsWith('\r\n\r\nOK\r\n'));
      h.sim.close();
    });

    it('canonical exchange (§1.6): connect, send, +IPD then CLOSED, passive read', async () => {
      const h = await espHarness({ dialect, bootNoise: false });
      await h.online();
      const server = await (async () => {
        const p = h.netB.listen({ port: 8080 });
        await h.run(1);
        return p;
      })();
      const accepted = server.accept();
      assert.equal(await h.cmd('AT+CIPSTART=0,"TCP","10.0.0.2",8080\r\n'), '0,CONNECT\r\n\r\nOK\r\n');
      const peer = await accepted;
      h.send('AT+CIPSEND=0,4\r\n');
      await h.waitFor('>');
      await h.run(1);
      assert.equal(h.take(), nonos ? 'OK\r\n> ' : '\r\nOK\r\n\r\n>');
      h.send('test');
      await h.waitFor('SEND OK\r\n');
      assert.equal(h.take(), '\r\nRecv 4 bytes\r\n\r\nSEND OK\r\n');
      const got = peer.read();
      await h.run(10);
      assert.equal(latin1Text((await got) ?? new Uint8Array()), 'test');
      await peer.write('hi');
      await peer.close();
      await h.waitFor('CLOSED\r\n');
      assert.equal(h.take(), '\r\n+IPD,0,2:hi0,CLOSED\r\n');

      // Passive mode.
      assert.equal(await h.cmd('AT+CIPRECVMODE=1\r\n'), '\r\nOK\r\n');
      const accepted2 = server.accept();
      assert.equal(await h.cmd('AT+CIPSTART=1,"TCP","10.0.0.2",8080\r\n'), '1,CONNECT\r\n\r\nOK\r\n');
      const peer2 = await accepted2;
      await peer2.write('test');
      await h.waitFor('+IPD');
      await h.run(5);
      assert.equal(h.take(), '\r\n+IPD,1,4\r\n');
      assert.equal(await h.cmd('AT+CIPRECVLEN?\r\n'), '+CIPRECVLEN:,4,,,,\r\n\r\nOK\r\n');
      assert.equal(await h.cmd('AT+CIPRECVDATA=1,4\r\n'), `${nonos ? '+CIPRECVDATA,4:' : '+CIPRECVDATA:4,'}test\r\n\r\nOK\r\n`);
      assert.equal(await h.cmd('AT+CIPRECVDATA=1,4\r\n', 'ERROR\r\n'), '\r\nERROR\r\n', 'empty: ERROR');
      assert.equal(await h.cmd('AT+CIPCLOSE=1\r\n'), '1,CLOSED\r\n\r\nOK\r\n');
      assert.equal(await h.cmd('AT+CIPCLOSE=1\r\n', 'ERROR\r\n'), nonos ? 'UNLINK\r\n\r\nERROR\r\n' : '\r\nERROR\r\n');
      await server.close();
      h.sim.close();
    });
  });
}
