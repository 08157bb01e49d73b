// The ESP-AT driver against the edge cases of at-modules.md §6 (items 1-15, 17, 18, 20), one test per
// item (several for some), each for both dialects where the dialects differ, on a scripted fake module
// over a seeded byte pipe. The driver must never hang past its timeouts, never throw, never deliver
// corrupted or reordered payload, and report each failure as a clear SocketError.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { iotCodeValue } from '../../../../src/base/iot-constants.ts';
import { isSocketError } from '../../../../src/base/socket-error.ts';
import type { ModuleOpenRequest } from '../../../../src/backends/at/module-driver.ts';
import { dec, enc, rig, runFor, until, BRING_UP, type FakeDialect, type Rig } from './fake-esp.test.ts';

const DIALECTS = ['esp-at', 'nonos'] as const satisfies readonly FakeDialect[];
const tcp = (last: number, port = 8080): ModuleOpenRequest => ({
  kind: 'tcp',
  af: 1,
  remote: { address: new Uint8Array([192, 168, 3, last]), port },
  localPort: 0,
  keepAliveS: 0,
});
const OK = '\r\nOK\r\n';
const ERROR = '\r\nERROR\r\n';

async function opened(r: Rig, last = 102): Promise<number> {
  return (await until(r.fake.sched, r.driver.open(tcp(last)))).id;
}

/** Every byte value, twice, in a scrambled order. */
function allBytes(): Uint8Array {
  const out = new Uint8Array(512);
  for (let i = 0; i < 512; i++) out[i] = (i * 167 + 13) & 0xff;
  return out;
}

for (const dialect of DIALECTS) {
  const nonos = dialect === 'nonos';
  describe(`ESP-AT driver §6 edge cases, ${dialect}`, () => {
    it('§6.1 URCs between > and the acknowledgement, and between information lines and OK', async () => {
      const r = await rig({ dialect, esp: { passive: false } });
      await opened(r);
      assert.equal(await opened(r, 103), 1);
      r.fake.ack = (_id, data) => `\r\n+IPD,1,3:abc\r\nRecv ${data.length} bytes\r\n1,CLOSED\r\n\r\nWIFI GOT IPv6 LL\r\nSEND OK\r\n`;
      assert.equal(await until(r.fake.sched, r.driver.send(0, enc('test'))), 4);
      r.fake.ack = undefined;
      const sta = nonos ? '+CIPSTA_CUR' : '+CIPSTA';
      r.fake.on(`AT${sta}?`, `${sta}:ip:"192.168.3.112"\r\n\r\n+IPD,0,2:hi${sta}:gateway:"192.168.3.1"\r\n0,CLOSED\r\n${sta}:netmask:"255.255.255.0"\r\n${OK}`);
      const info = await until(r.fake.sched, r.wifi.netInfo());
      assert.deepEqual(info.gateway, new Uint8Array([192, 168, 3, 1]));
      assert.deepEqual(info.netmask, new Uint8Array([255, 255, 255, 0]));
      assert.deepEqual(r.log, [
        { kind: 'data', link: 1, text: 'abc' },
        { kind: 'closed', link: 1 },
        { kind: 'data', link: 0, text: 'hi' },
        { kind: 'closed', link: 0 },
      ]);
      // Right after the OK of AT+CIPSTART, in the same burst: held until `open` has resolved.
      r.fake.on(/^AT\+CIPSTART=0,/, `0,CONNECT\r\n${OK}\r\n+IPD,0,6:banner0,CLOSED\r\n`);
      const order: string[] = [];
      const log0 = r.log.length;
      const p = r.driver.open(tcp(105)).then((l) => order.push(`open ${l.id}`));
      await until(r.fake.sched, p);
      await runFor(r.fake.sched, 10);
      order.push(...r.log.slice(log0).map((e) => (e.kind === 'data' ? `data ${e.text}` : e.kind)));
      assert.deepEqual(order, ['open 0', 'data banner', 'closed']);
      await r.driver.dispose();
    });

    it('§6.2 payloads holding CR LF, OK, ERROR, +IPD, > and NUL: counted, never line-split (active and passive)', async () => {
      const evil = '\r\nOK\r\nERROR\r\n+IPD,0,3:>\0\r\n0,CLOSED\r\nSEND OK\r\n>';
      const a = await rig({ dialect, esp: { passive: false } });
      await opened(a);
      a.fake.peerData(0, evil);
      a.fake.peerData(0, evil);
      await runFor(a.fake.sched, 50);
      assert.deepEqual(a.log, [{ kind: 'data', link: 0, text: evil }, { kind: 'data', link: 0, text: evil }]);
      await a.driver.dispose();
      const p = await rig({ dialect });
      await opened(p);
      p.fake.peerData(0, evil);
      await runFor(p.fake.sched, 50);
      assert.deepEqual(p.log, [{ kind: 'readable', link: 0, available: evil.length }]);
      const got = await until(p.fake.sched, p.driver.read(0, 1000));
      assert.equal(dec(got.bytes), evil);
      await p.driver.dispose();
    });

    it('§6.3 payload glued to the next message (…data0,CLOSED), active and passive', async () => {
      const a = await rig({ dialect, esp: { passive: false } });
      await opened(a);
      a.fake.send('\r\n+IPD,0,5:hello0,CLOSED\r\n');
      await runFor(a.fake.sched, 50);
      assert.deepEqual(a.log, [{ kind: 'data', link: 0, text: 'hello' }, { kind: 'closed', link: 0 }]);
      await a.driver.dispose();
      // Passive: the withheld CLOSED comes glued after the last read's OK; it is reported after the read resolved.
      const p = await rig({ dialect });
      await opened(p);
      p.fake.peerData(0, 'hello');
      p.fake.peerClose(0);
      await runFor(p.fake.sched, 50);
      const order: string[] = [];
      const read = p.driver.read(0, 100).then((g) => order.push(`read ${dec(g.bytes)}`));
      const origClosed = p.log.length;
      await until(p.fake.sched, read);
      await runFor(p.fake.sched, 10);
      order.push(...p.log.slice(origClosed).map((e) => e.kind));
      assert.deepEqual(order, ['read hello', 'closed']);
      await p.driver.dispose();
    });

    it('§6.4 prompts with or without OK, with or without a trailing space, never followed by CR LF', async () => {
      const r = await rig({ dialect });
      await opened(r);
      for (const prompt of ['>', '\r\n> ', 'OK\r\n> ', '\r\nOK\r\n\r\n>', '\r\nOK\r\n\r\n> ']) {
        r.fake.on(/^AT\+CIPSEND=0,/, prompt);
        assert.equal(await until(r.fake.sched, r.driver.send(0, enc('ping'))), 4, JSON.stringify(prompt));
      }
      assert.equal(r.fake.sent.get(0), 'ping'.repeat(5));
      await r.driver.dispose();
    });

    it('§6.5 echo still on (from boot, and switched on again), and a URC spliced into the echo', async () => {
      const r = await rig({ dialect, echo: true });
      assert.deepEqual(r.fake.commands.slice(0, BRING_UP[dialect].length), BRING_UP[dialect]);
      r.fake.echo = true;
      await opened(r);
      assert.equal(await until(r.fake.sched, r.driver.send(0, enc('echo'))), 4);
      r.fake.echo = false;
      await until(r.fake.sched, r.driver.listen(333, 2));
      const n = 98;
      const tail = nonos ? '\r\r\n' : '\r\n';
      r.fake.on(`AT+CIPSEND=4,${n}`, () => {
        r.fake.links.set(1, { type: 'TCP', ip: '192.168.3.9', rport: 5555, lport: 333, server: true, buf: [], noticed: false, closedPending: false });
        return `AT+CIPSEND=4,1,CONNECT\r\n${n}${tail}${nonos ? 'OK\r\n> ' : '\r\nOK\r\n\r\n>'}`;
      });
      const link = await opened(r, 104);
      assert.equal(link, 4, 'outgoing links take high ids while a server runs');
      assert.equal(await until(r.fake.sched, r.driver.send(4, new Uint8Array(n).fill(0x41))), n);
      await runFor(r.fake.sched, 50);
      assert.deepEqual(r.log.map((e) => e.kind === 'accepted' ? [e.link, [...e.remote.address].join('.'), e.remote.port, e.port] : e.kind), [[1, '192.168.3.9', 5555, 333]]);
      await r.driver.dispose();
    });

    it('§6.6 busy p... / busy s...: retried with back-off, not a failure', async () => {
      const r = await rig({ dialect });
      r.fake.on(/^AT\+CIPSTART/, 'busy p...\r\n');
      r.fake.on(/^AT\+CIPSTART/, '\r\nbusy s...\r\n');
      const t0 = r.fake.sched.now();
      assert.equal(await opened(r), 0);
      assert.ok(r.fake.sched.now() - t0 >= 300, 'backed off 100 + 200 ms');
      assert.equal(r.fake.commands.filter((c) => c.startsWith('AT+CIPSTART')).length, 3);
      await r.driver.dispose();
    });

    it('§6.7 SEND FAIL then SEND OK, ERROR then SEND OK, Recv without SEND OK: sent; a real SEND FAIL breaks the stream', async () => {
      const r = await rig({ dialect });
      await opened(r);
      const send = (s: string): Promise<number> => until(r.fake.sched, r.driver.send(0, enc(s)));
      r.fake.ack = (_id, d) => `\r\nRecv ${d.length} bytes\r\n\r\nSEND FAIL\r\n\r\nSEND OK\r\n`;
      assert.equal(await send('one'), 3);
      r.fake.ack = (_id, d) => `\r\nRecv ${d.length} bytes\r\n${ERROR}\r\nSEND OK\r\n`;
      assert.equal(await send('two'), 3);
      r.fake.ack = (_id, d) => `\r\nRecv ${d.length} bytes\r\n`;
      const t0 = r.fake.sched.now();
      assert.equal(await send('three'), 5);
      assert.ok(r.fake.sched.now() - t0 < 10_000, 'no hang past the send timeout');
      assert.equal(r.driver.stats.lateAcks, 3);
      r.fake.ack = () => '\r\nSEND FAIL\r\n';
      await assert.rejects(send('four'), (e) => isSocketError(e, 'ECONNABORTED') && e.detail.reason === 'send-fail' && e.detail.op === 'send');
      r.fake.ack = undefined;
      // The module is in step again: the next command gets its own answer.
      assert.deepEqual(await until(r.fake.sched, r.driver.lookup('example.com', 1)), new Uint8Array([93, 184, 216, 34]));
      // ERROR before the prompt: the link is down.
      r.fake.on(/^AT\+CIPSEND=0,/, ERROR);
      await assert.rejects(send('five'), (e) => isSocketError(e, 'ECONNABORTED') && e.detail.reason === 'link-down');
      await r.driver.dispose();
    });

    it('§6.8 chunked to the module limit; the count the module took is what is reported', async () => {
      const r = await rig({ dialect });
      await opened(r);
      const big = new Uint8Array(10_000).fill(0x5a);
      const max = nonos ? 2048 : 8192;
      assert.equal(await until(r.fake.sched, r.driver.send(0, big)), max);
      assert.ok(r.fake.commands.includes(`AT+CIPSEND=0,${max}`));
      r.fake.ack = () => '\r\nRecv 3 bytes\r\n\r\nSEND OK\r\n';
      assert.equal(await until(r.fake.sched, r.driver.send(0, enc('four'))), 3);
      await r.driver.dispose();
    });

    it('§6.9 passive: never more than asked, drained until ERROR, late CLOSED after the last byte', async () => {
      const r = await rig({ dialect });
      await opened(r);
      r.fake.peerData(0, '0123456789');
      r.fake.peerData(0, 'abcdef'); // no second notice until read
      await runFor(r.fake.sched, 50);
      assert.deepEqual(r.log, [{ kind: 'readable', link: 0, available: 16 }]);
      assert.equal(dec((await until(r.fake.sched, r.driver.read(0, 4))).bytes), '0123');
      assert.ok(r.fake.commands.includes('AT+CIPRECVDATA=0,4'));
      r.fake.peerClose(0); // withheld: data unread
      await runFor(r.fake.sched, 50);
      assert.equal(r.log.length, 1);
      // A module handing over more than asked (mbed-os#9345): the rest waits in the driver.
      r.fake.on('AT+CIPRECVDATA=0,5', () => {
        const l = r.fake.links.get(0);
        if (l === undefined) return undefined;
        l.buf.splice(0, 8);
        return nonos ? '+CIPRECVDATA,8:456789ab\r\nOK\r\n' : '+CIPRECVDATA:8,"192.168.3.102",8080,456789ab\r\n\r\nOK\r\n';
      });
      assert.equal(dec((await until(r.fake.sched, r.driver.read(0, 5))).bytes), '45678');
      const before = r.fake.commands.length;
      assert.equal(dec((await until(r.fake.sched, r.driver.read(0, 100))).bytes), '9ab');
      assert.equal(r.fake.commands.length, before, 'served from what the module over-delivered');
      assert.equal(r.driver.stats.overreadBytes, 3);
      assert.equal(dec((await until(r.fake.sched, r.driver.read(0, 100))).bytes), 'cdef');
      await runFor(r.fake.sched, 50);
      assert.deepEqual(r.log.slice(1), [{ kind: 'closed', link: 0 }]);
      await r.driver.dispose();
    });

    it('§6.10 close races: CLOSED during CIPCLOSE then ERROR/UNLINK; id reuse while a close is pending; late CLOSED after a failed open', async () => {
      const r = await rig({ dialect });
      await opened(r);
      r.fake.on('AT+CIPCLOSE=0', () => {
        r.fake.links.delete(0);
        return `0,CLOSED\r\n${nonos ? 'UNLINK\r\n' : ERROR}`;
      });
      await until(r.fake.sched, r.driver.closeLink(0));
      assert.deepEqual(r.log, [], 'our own close is not reported as a peer close');
      for (let i = 0; i < 5; i++) assert.equal(await opened(r, 110 + i), i);
      const closing = r.driver.closeLink(2);
      const reopen = r.driver.open(tcp(120));
      assert.equal((await until(r.fake.sched, reopen)).id, 2);
      await closing;
      const cmds = r.fake.commands;
      assert.ok(cmds.lastIndexOf('AT+CIPCLOSE=2') < cmds.lastIndexOf('AT+CIPSTART=2,"TCP","192.168.3.120",8080'));
      await until(r.fake.sched, r.driver.closeLink(3));
      r.fake.on(/^AT\+CIPSTART=3,/, `${ERROR}3,CLOSED\r\n`);
      await assert.rejects(until(r.fake.sched, r.driver.open(tcp(130))), (e) => isSocketError(e, 'ECONNREFUSED') && e.detail.reason === 'connect-failed');
      assert.equal(await opened(r, 131), 3);
      await runFor(r.fake.sched, 100);
      assert.deepEqual(r.log, []);
      await r.driver.dispose();
    });

    it('§6.11 link-id clash with a server link (ALREADY CONNECTED) and with a stale link', async () => {
      const r = await rig({ dialect });
      await until(r.fake.sched, r.driver.listen(80, 5));
      r.fake.on(/^AT\+CIPSTART=4,/, () => {
        r.fake.links.set(4, { type: 'TCP', ip: '192.168.3.77', rport: 41000, lport: 80, server: true, buf: [], noticed: false, closedPending: false });
        return `4,CONNECT\r\nALREADY CONNECTED\r\n${ERROR}`;
      });
      assert.equal(await opened(r), 3);
      await runFor(r.fake.sched, 50);
      assert.deepEqual(r.log.map((e) => e.kind === 'accepted' ? `${e.link} ${[...e.remote.address].join('.')}:${e.remote.port} on ${e.port}` : e.kind), ['4 192.168.3.77:41000 on 80']);
      await until(r.fake.sched, r.driver.unlisten(80));
      // A link the module kept from before a host reset.
      r.fake.links.set(0, { type: 'TCP', ip: '10.0.0.1', rport: 1, lport: 2, server: false, buf: [], noticed: false, closedPending: false });
      assert.equal(await opened(r, 140), 1);
      assert.ok(r.fake.commands.includes('AT+CIPCLOSE=0'));
      assert.equal(r.driver.stats.idClashes, 2);
      assert.equal(await opened(r, 141), 0, 'the stale id is free again');
      await r.driver.dispose();
    });

    it('§6.12 module reset at any moment: pending work fails, lost once, re-init, re-join, rate-limited', async () => {
      const r = await rig({ dialect, esp: { reinitBackoffMs: [0, 1000, 5000] } });
      await opened(r);
      r.fake.mute = true;
      const send = r.driver.send(0, enc('doomed'));
      await runFor(r.fake.sched, 100);
      r.fake.mute = false;
      r.fake.reboot('\xff\xfe ets Jan  8 2013,rst cause:2\r\n\x80\x81');
      await assert.rejects(until(r.fake.sched, send), (e) => isSocketError(e, 'ECONNABORTED') && e.detail.reason === 'module-reset');
      await runFor(r.fake.sched, 3000);
      const lost = r.log.filter((e) => e.kind === 'lost');
      assert.equal(lost.length, 1);
      assert.ok(lost[0]?.kind === 'lost' && isSocketError(lost[0].error, 'ECONNABORTED') && lost[0].error.detail.reason === 'module-reset');
      assert.equal(r.module.state, 'ready');
      assert.equal(r.wifi.status, 'got-ip', 're-joined with the stored credentials');
      assert.ok(r.fake.commands.filter((c) => /^AT\+CWJAP/.test(c)).length === 2);
      assert.equal(await opened(r), 0);
      // A crash banner: lost at once, re-init after `ready`; quick repeats back off.
      r.fake.send('\r\nwdt reset\r\n');
      await runFor(r.fake.sched, 10);
      assert.equal(r.log.filter((e) => e.kind === 'lost').length, 2);
      const t0 = r.fake.sched.now();
      r.fake.reboot();
      await runFor(r.fake.sched, 500);
      assert.equal(r.module.state, 'resetting', 'second reset in a row waits 1 s');
      await runFor(r.fake.sched, 2000);
      assert.equal(r.module.state, 'ready');
      assert.ok(r.fake.sched.now() - t0 >= 1000);
      assert.equal(r.module.stats.reinits, 2);
      await r.driver.dispose();
    });

    it('§6.13 host reset while the module ran on: unknown baud, echo on, stale links and server, URCs for unknown ids', async () => {
      const r = await rig({
        dialect,
        join: false,
        echo: true,
        baud: { host: 115200, dev: 921600 },
        setup: (f) => {
          f.mux = 1;
          f.server = 80;
          f.links.set(0, { type: 'TCP', ip: '10.0.0.1', rport: 1, lport: 2, server: false, buf: [], noticed: false, closedPending: false });
          f.links.set(2, { type: 'UDP', ip: '10.0.0.2', rport: 3, lport: 4, server: false, buf: [], noticed: false, closedPending: false });
        },
      });
      assert.equal(r.fake.host.baudRate, 921600);
      assert.equal(r.module.state, 'ready');
      const c = r.fake.commands;
      assert.ok(c.includes('AT+CIPSERVER=0') && c.includes('AT+CIPCLOSE=5'));
      assert.ok(!c.includes('AT+CIPMUX=1'));
      assert.equal(r.fake.links.size, 0);
      const strays = r.driver.stats.strayUrcs; // the CLOSED lines of AT+CIPCLOSE=5 among them
      r.fake.send('\r\n+IPD,3,5:hello3,CLOSED\r\n1,CONNECT\r\n+IPD,4,9\r\n');
      await runFor(r.fake.sched, 50);
      assert.deepEqual(r.log, []);
      assert.equal(r.driver.stats.strayUrcs - strays, 4);
      await r.driver.dispose();
    });

    it('§6.14 timeouts per command, then resync: a late reply is never taken for the next command', async () => {
      const r = await rig({ dialect });
      r.fake.on(/^AT\+CIPSTART=0,/, () => {
        r.fake.sched.setTimer(20_000 + 1, () => {
          r.fake.links.set(0, { type: 'TCP', ip: '192.168.3.102', rport: 8080, lport: 1, server: false, buf: [], noticed: false, closedPending: false });
          r.fake.send(`0,CONNECT\r\n${OK}`);
        });
        return null;
      });
      const t0 = r.fake.sched.now();
      await assert.rejects(until(r.fake.sched, r.driver.open(tcp(102))), (e) => isSocketError(e, 'ETIMEDOUT') && e.detail.reason === 'connect-timeout');
      assert.ok(r.fake.sched.now() - t0 >= 20_000);
      assert.deepEqual(await until(r.fake.sched, r.driver.lookup('example.com', 1)), new Uint8Array([93, 184, 216, 34]));
      assert.ok(r.module.stats.resyncs >= 1);
      const ats = r.fake.commands.slice(r.fake.commands.findIndex((x) => x.startsWith('AT+CIPSTART'))).filter((x) => x === 'AT');
      assert.ok(ats.length >= 2, 'AT until OK and quiet');
      // The module did open link 0 late: the next open clashes and the driver cleans it up.
      assert.equal(await opened(r), 1);
      // Silence: DNS 15 s, join 20 s; each reported, none hangs.
      r.fake.on(/^AT\+CIPDOMAIN=/, null);
      assert.equal(await until(r.fake.sched, r.driver.lookup('slow.example', 1)), iotCodeValue('ETIMEDOUT'));
      r.fake.on(/^AT\+CWJAP/, null);
      await assert.rejects(until(r.fake.sched, r.wifi.join({ ssid: 'lab', password: 'secret12' })), (e) => isSocketError(e, 'ETIMEDOUT') && e.detail.reason === 'wifi-timeout');
      await r.driver.dispose();
    });

    it('§6.15 dialect drift: +IPD and +CIPDOMAIN ip forms, +CIPRECVDATA forms, FAIL/ERROR, IPv6 lines after OK', async () => {
      const r = await rig({ dialect, esp: { passive: !nonos ? true : false } });
      const udp: ModuleOpenRequest = { kind: 'udp', af: 1, remote: { address: new Uint8Array(4), port: 0 }, localPort: 5000, keepAliveS: 0 };
      const link = await until(r.fake.sched, r.driver.open(udp));
      assert.deepEqual(link, { id: 0, localPort: 5000 });
      assert.ok(r.fake.commands.includes('AT+CIPSTART=0,"UDP","0.0.0.0",5000,5000,2'));
      r.fake.peerData(0, 'dgram', { ip: '192.168.3.7', port: 7777 });
      await runFor(r.fake.sched, 50);
      let got;
      if (nonos) {
        got = r.log[0];
        assert.ok(got?.kind === 'data');
      } else {
        assert.deepEqual(r.log, [{ kind: 'readable', link: 0, available: 5 }]);
        r.fake.links.get(0)!.ip = '192.168.3.7';
        r.fake.links.get(0)!.rport = 7777;
        got = await until(r.fake.sched, r.driver.read(0, 1472));
        assert.equal(dec(got.bytes), 'dgram');
      }
      assert.deepEqual(got.from, { address: new Uint8Array([192, 168, 3, 7]), port: 7777 });
      assert.deepEqual(await until(r.fake.sched, r.driver.lookup('example.com', 1)), new Uint8Array([93, 184, 216, 34]));
      assert.equal(await until(r.fake.sched, r.driver.lookup('nx.example', 1)), iotCodeValue('EHOSTNOTFOUND'));
      assert.equal(await until(r.fake.sched, r.driver.lookup('example.com', 2)), iotCodeValue('EHOSTNOTFOUND'));
      r.fake.on(/^AT\+CWJAP/, `WIFI CONNECTED\r\nWIFI GOT IP\r\n${OK}WIFI GOT IPv6 LL\r\nWIFI GOT IPv6 GL\r\n`);
      await until(r.fake.sched, r.wifi.join({ ssid: 'v6', password: 'secret12' }));
      assert.equal(r.wifi.status, 'got-ip');
      // 11-field and 7-field +CWLAP lines.
      r.fake.on('AT+CWLAP', '+CWLAP:(3,"lab",-45,"aa:bb:cc:dd:ee:ff",6,-12,0,4,4,7,1)\r\n+CWLAP:(0,"open,net",-80,"11:22:33:44:55:66",1,3,0)\r\n+CWLAP:garbage\r\n' + OK);
      const aps = await until(r.fake.sched, r.wifi.scan());
      assert.deepEqual(aps, [
        { ssid: 'lab', bssid: 'aa:bb:cc:dd:ee:ff', rssi: -45, channel: 6, security: 'wpa2' },
        { ssid: 'open,net', bssid: '11:22:33:44:55:66', rssi: -80, channel: 1, security: 'open' },
      ]);
      await r.driver.dispose();
    });

    it('§6.17 no flow control: a burst of full-size +IPD arrives whole and in order; bounded reads in passive mode', async () => {
      const a = await rig({ dialect, esp: { passive: false }, chunkMax: 64 });
      await opened(a);
      const chunks: string[] = [];
      for (let i = 0; i < 12; i++) {
        const s = String.fromCharCode(...Array.from({ length: 2920 }, (_, k) => (k * 7 + i) & 0xff));
        chunks.push(s);
        a.fake.peerData(0, s);
      }
      await runFor(a.fake.sched, 200);
      assert.deepEqual(a.log.map((e) => (e.kind === 'data' ? e.text : e.kind)), chunks);
      await a.driver.dispose();
      const p = await rig({ dialect });
      await opened(p);
      p.fake.peerData(0, 'x'.repeat(5000));
      await runFor(p.fake.sched, 50);
      let total = 0;
      for (;;) {
        const g = await until(p.fake.sched, p.driver.read(0, 700));
        assert.ok(g.bytes.length <= 700);
        if (g.bytes.length === 0) break;
        total += g.bytes.length;
      }
      assert.equal(total, 5000);
      await p.driver.dispose();
    });

    it('§6.18 escapes and limits: , " \\ escaped; SSID ≤ 32 and password ≤ 64 bytes checked before sending', async () => {
      const r = await rig({ dialect, join: false });
      const before = r.fake.commands.length;
      const bad = [
        { ssid: 'x'.repeat(33), password: 'secret12' },
        { ssid: '', password: 'secret12' },
        { ssid: 'é'.repeat(17), password: 'secret12' }, // 34 UTF-8 bytes
        { ssid: 'lab', password: 'p'.repeat(65) },
      ];
      for (const params of bad) {
        await assert.rejects(r.wifi.join(params), (e) => isSocketError(e, 'EINVAL') && e.detail.op === 'join');
      }
      assert.equal(r.fake.commands.length, before, 'nothing sent');
      const creds = { ssid: 'a\\b,"c"', password: 'p,\\"q' };
      const p = r.wifi.join(creds);
      creds.ssid = 'changed'; // copied at call time
      await until(r.fake.sched, p);
      assert.equal(r.fake.commands[before], `AT+CWJAP${nonos ? '_CUR' : ''}="a\\\\b\\,\\"c\\"","p\\,\\\\\\"q"`);
      assert.equal(await until(r.fake.sched, r.driver.lookup('h'.repeat(65), 1)), iotCodeValue('EHOSTNOTFOUND'));
      assert.equal(r.fake.commands.length, before + 2);
      await r.driver.dispose();
    });

    it('§6.20 binary safety: all 256 byte values out and in (active and passive)', async () => {
      const bytes = allBytes();
      const a = await rig({ dialect, esp: { passive: false }, chunkMax: 3 });
      await opened(a);
      assert.equal(await until(a.fake.sched, a.driver.send(0, bytes)), bytes.length);
      assert.equal(a.fake.sent.get(0), dec(bytes));
      a.fake.peerData(0, bytes);
      await runFor(a.fake.sched, 50);
      assert.deepEqual(a.log, [{ kind: 'data', link: 0, text: dec(bytes) }]);
      await a.driver.dispose();
      const p = await rig({ dialect, chunkMax: 3 });
      await opened(p);
      p.fake.peerData(0, bytes);
      await runFor(p.fake.sched, 50);
      const got = await until(p.fake.sched, p.driver.read(0, 4096));
      assert.deepEqual(got.bytes, bytes);
      await p.driver.dispose();
    });
  });
}
