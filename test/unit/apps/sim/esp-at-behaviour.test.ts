/**
 * ESP-AT simulator behaviour: Wi-Fi commands, busy, connect outcomes, active +IPD splitting,
 * passive window and CLOSED deferral, server mode, UDP, reboot and AP loss. Virtual time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { latin1Text } from '../../../../src/apps/sim/at-sim-port.ts';
import { espHarness } from './esp-at-harness.ts';

async function listen(h: Awaited<ReturnType<typeof espHarness>>, port: number) {
  const p = h.netB.listen({ port });
  await h.run(1);
  return p;
}

describe('ESP simulator behaviour', () => {
  it('Wi-Fi: CWLAP (11 fields, CWLAPOPT, NONOS 7 fields), CWJAP codes 1 and 3, query, CWSTATE, CIFSR, CWQAP', async () => {
    const h = await espHarness({ aps: [
      { ssid: 'lab', password: 'secret', bssid: 'aa:bb:cc:dd:ee:01', rssi: -60, channel: 1, ecn: 3 },
      { ssid: 'far', password: 'x', bssid: 'aa:bb:cc:dd:ee:02', rssi: -40, channel: 6, ecn: 3, fail: 1 },
    ] });
    await h.boot();
    assert.equal(await h.cmd('AT+CWLAP\r\n'), '+CWLAP:(3,"lab",-60,"aa:bb:cc:dd:ee:01",1,0,0,4,4,7,0)\r\n+CWLAP:(3,"far",-40,"aa:bb:cc:dd:ee:02",6,0,0,4,4,7,0)\r\n\r\nOK\r\n');
    assert.equal(await h.cmd('AT+CWLAPOPT=1,7\r\n'), '\r\nOK\r\n');
    assert.equal(await h.cmd('AT+CWLAP\r\n'), '+CWLAP:(3,"far",-40)\r\n+CWLAP:(3,"lab",-60)\r\n\r\nOK\r\n');
    const t0 = h.sched.now();
    assert.equal(await h.cmd('AT+CWJAP="far","x"\r\n', 'ERROR\r\n'), '+CWJAP:1\r\n\r\nERROR\r\n');
    assert.ok(h.sched.now() - t0 >= 15_000, 'timeout after 15 s');
    assert.equal(await h.cmd('AT+CWJAP="nope","x"\r\n', 'ERROR\r\n'), '+CWJAP:3\r\n\r\nERROR\r\n');
    assert.equal(await h.cmd('AT+CWJAP="lab","secret"\r\n'), 'WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n');
    assert.equal(await h.cmd('AT+CWJAP?\r\n'), '+CWJAP:"lab","aa:bb:cc:dd:ee:01",1,-60,0,0,0,0,0\r\n\r\nOK\r\n');
    assert.equal(await h.cmd('AT+CWSTATE?\r\n'), '+CWSTATE:2,"lab"\r\n\r\nOK\r\n');
    assert.equal(await h.cmd('AT+CIFSR\r\n'), '+CIFSR:STAIP,"10.0.0.1"\r\n+CIFSR:STAMAC,"18:fe:34:00:00:01"\r\n\r\nOK\r\n');
    assert.equal(await h.cmd(`AT+CWJAP="${'x'.repeat(33)}","a"\r\n`, 'ERROR\r\n'), '\r\nERROR\r\n', 'SSID > 32');
    assert.equal(await h.cmd('AT+SYSLOG=1\r\n'), '\r\nOK\r\n');
    assert.equal(await h.cmd('AT+NOPE\r\n', 'ERROR\r\n'), 'ERR CODE:0x01090000\r\n\r\nERROR\r\n');
    h.send('AT+CWQAP\r\n');
    await h.waitFor('WIFI DISCONNECT\r\n');
    assert.equal(h.take(), '\r\nOK\r\nWIFI DISCONNECT\r\n');
    assert.equal(await h.cmd('AT+CWJAP?\r\n'), 'No AP\r\n\r\nOK\r\n');
    const n = await espHarness({ dialect: 'nonos', version: 'AT version:1.5.0.0(Oct 24 2017 12:00:00)', bootNoise: false });
    await n.boot();
    assert.equal(await n.cmd('AT+CWLAP\r\n'), '+CWLAP:(3,"my,ssid",-52,"aa:bb:cc:dd:ee:01",6,0,0)\r\n+CWLAP:(0,"open",-70,"aa:bb:cc:dd:ee:02",11,0,0)\r\n\r\nOK\r\n');
    assert.equal(await n.cmd('AT+CWDHCP_CUR=1,0\r\n'), '\r\nOK\r\n');
    assert.equal(await n.cmd('AT+CWDHCP_CUR?\r\n'), '+CWDHCP_CUR:2\r\n\r\nOK\r\n', 'NONOS <mode>,<en>: station DHCP off');
    assert.equal(await n.cmd('AT+CWMODE=1\r\n'), '\r\nOK\r\n', 'deprecated plain name kept on NONOS');
    assert.equal(await n.cmd('AT+CIPSTA?\r\n', 'ERROR\r\n'), '\r\nERROR\r\n', 'NONOS: _CUR/_DEF only');
    h.sim.close();
    n.sim.close();
  });

  it('strict serial: busy p... while CWJAP runs; NONOS ROM garbage before ready; input before boot ignored', async () => {
    const h = await espHarness({ dialect: 'nonos' });
    h.sim.powerOn();
    h.send('AT\r\n');
    await h.waitFor('\r\nready\r\n');
    const boot = h.take();
    assert.ok(boot.length > 12 && boot.endsWith('\r\nready\r\n') && !boot.includes('OK'), JSON.stringify(boot));
    await h.cmd('ATE0\r\n');
    h.send('AT+CWJAP_CUR="my\\,ssid","pa\\"ss"\r\n');
    await h.run(10);
    h.send('AT\r\n');
    await h.waitFor('\r\nOK\r\n');
    assert.equal(h.take(), '\r\nbusy p...\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n');
    h.sim.close();
  });

  it('connect outcomes: refused (ERROR then CLOSED), ALREADY CONNECTED, DNS (names, NONOS DNS Fail), no Wi-Fi', async () => {
    for (const dialect of ['esp-at', 'nonos'] as const) {
      const h = await espHarness({ dialect, bootNoise: false });
      await h.boot();
      await h.cmd('AT+CIPMUX=1\r\n');
      assert.equal(await h.cmd('AT+CIPSTART=0,"TCP","10.0.0.2",80\r\n', 'ERROR\r\n'), '\r\nERROR\r\n', 'no Wi-Fi');
      await h.cmd(`AT+CWJAP${dialect === 'nonos' ? '_CUR' : ''}="open",""\r\n`);
      h.send('AT+CIPSTART=0,"TCP","10.0.0.2",81\r\n');
      await h.waitFor('CLOSED\r\n');
      assert.equal(h.take(), '\r\nERROR\r\n0,CLOSED\r\n');
      const server = await listen(h, 80);
      assert.equal(await h.cmd('AT+CIPSTART=2,"TCP","peer.test",80\r\n'), '2,CONNECT\r\n\r\nOK\r\n');
      assert.equal(await h.cmd('AT+CIPSTART=2,"TCP","peer.test",80\r\n', 'ERROR\r\n'), 'ALREADY CONNECTED\r\n\r\nERROR\r\n');
      assert.equal(await h.cmd('AT+CIPSTART=3,"TCP","nowhere.test",80\r\n', 'ERROR\r\n'), dialect === 'nonos' ? 'DNS Fail\r\n\r\nERROR\r\n' : '\r\nERROR\r\n');
      assert.equal(await h.cmd('AT+CIPDOMAIN="peer.test"\r\n'), dialect === 'nonos' ? '+CIPDOMAIN:10.0.0.2\r\n\r\nOK\r\n' : '+CIPDOMAIN:"10.0.0.2"\r\n\r\nOK\r\n');
      assert.equal(await h.cmd('AT+CIPSTATUS\r\n'), 'STATUS:3\r\n+CIPSTATUS:2,"TCP","10.0.0.2",80,' + (await h.sim.links[2]?.localPort) + ',0\r\n\r\nOK\r\n');
      assert.equal(await h.cmd('AT+CIPMUX=0\r\n', 'ERROR\r\n'), '\r\nERROR\r\n', 'links open');
      await server.close();
      h.sim.close();
    }
  });

  it('active receive: +IPD at most 2920 bytes each, CIPDINFO quoted (ESP-AT) or bare (NONOS)', async () => {
    for (const dialect of ['esp-at', 'nonos'] as const) {
      const h = await espHarness({ dialect, bootNoise: false });
      await h.online();
      await h.cmd('AT+CIPDINFO=1\r\n');
      const server = await listen(h, 8080);
      const acc = server.accept();
      await h.cmd('AT+CIPSTART=0,"TCP","10.0.0.2",8080\r\n');
      const peer = await acc;
      const data = new Uint8Array(7000).map((_, i) => 0x41 + (i % 26));
      await peer.write(data);
      await h.run(500);
      const out = h.take();
      const re = dialect === 'nonos' ? /\r\n\+IPD,0,(\d+),10\.0\.0\.2,8080:/g : /\r\n\+IPD,0,(\d+),"10\.0\.0\.2",8080:/g;
      const sizes = [...out.matchAll(re)].map((m) => Number(m[1]));
      assert.ok(sizes.length >= 3 && sizes.every((s) => s <= 2920), JSON.stringify(sizes));
      assert.equal(sizes.reduce((a, b) => a + b, 0), 7000);
      assert.equal(out.replace(re, ''), latin1Text(data));
      await server.close();
      h.sim.close();
    }
  });

  it('passive receive: one notice, 5760-byte window (TCP flow control), partial reads, CLOSED withheld until read', async () => {
    const h = await espHarness({ bootNoise: false });
    await h.online();
    await h.cmd('AT+CIPRECVMODE=1\r\n');
    const server = await listen(h, 8080);
    const acc = server.accept();
    await h.cmd('AT+CIPSTART=0,"TCP","10.0.0.2",8080\r\n');
    const peer = await acc;
    const data = new Uint8Array(9000).map((_, i) => i & 0xff);
    void peer.write(data).then(() => peer.close());
    await h.run(2000);
    assert.equal(h.take(), '\r\n+IPD,0,5760\r\n', 'one notice with the window full');
    assert.equal(await h.cmd('AT+CIPRECVLEN?\r\n'), '+CIPRECVLEN:5760,,,,,\r\n\r\nOK\r\n');
    let got = new Uint8Array(0);
    const readSome = async (n: number): Promise<string> => {
      const out = await h.cmd(`AT+CIPRECVDATA=0,${n}\r\n`, '\r\nOK\r\n');
      const m = /^\+CIPRECVDATA:(\d+),/.exec(out);
      assert.ok(m !== null, JSON.stringify(out.slice(0, 40)));
      const len = Number(m[1]);
      const payload = Uint8Array.from(out.slice(m[0].length, m[0].length + len), (c) => c.charCodeAt(0));
      const merged = new Uint8Array(got.length + len);
      merged.set(got);
      merged.set(payload, got.length);
      got = merged;
      return out.slice(m[0].length + len);
    };
    assert.ok((await readSome(1000)).startsWith('\r\n\r\nOK\r\n'), 'partial read');
    await h.run(500);
    let rest = h.take();
    while (got.length < 9000) {
      rest += await readSome(4000);
      await h.run(500);
      rest += h.take();
    }
    assert.deepEqual(got, data);
    assert.ok(rest.includes('0,CLOSED\r\n'), JSON.stringify(rest));
    assert.ok(!rest.slice(0, rest.lastIndexOf('\r\nOK\r\n')).includes('CLOSED'), 'CLOSED only after the last read');
    await server.close();
    h.sim.close();
  });

  it('server mode: accepted links take free ids with <id>,CONNECT, data both ways, CIPSERVER=0', async () => {
    const h = await espHarness({ bootNoise: false });
    await h.online();
    assert.equal(await h.cmd('AT+CIPSERVER=1,5000\r\n'), '\r\nOK\r\n');
    assert.equal(await h.cmd('AT+CIPSERVER?\r\n'), '+CIPSERVER:1,5000,"TCP",0\r\n\r\nOK\r\n');
    const c = h.netB.connect('10.0.0.1:5000');
    await h.waitFor('0,CONNECT\r\n');
    const client = await c;
    assert.equal(h.take(), '0,CONNECT\r\n');
    await client.write('ping');
    await h.waitFor('ping');
    assert.equal(h.take(), '\r\n+IPD,0,4:ping');
    const state = await h.cmd('AT+CIPSTATE?\r\n');
    assert.match(state, /^\+CIPSTATE:0,"TCP","10\.0\.0\.2",\d+,5000,1\r\n\r\nOK\r\n$/);
    await client.close();
    await h.waitFor('0,CLOSED\r\n');
    assert.equal(h.take(), '0,CLOSED\r\n');
    assert.equal(await h.cmd('AT+CIPSERVER=0\r\n', '\r\nOK\r\n'), '\r\nOK\r\n');
    h.sim.close();
  });

  it('UDP: CIPSTART with local port, send to the remote and to another host, receive from the remote', async () => {
    const h = await espHarness({ bootNoise: false });
    await h.online();
    const peer = await h.netB.udp({ port: 7000 });
    assert.equal(await h.cmd('AT+CIPSTART=4,"UDP","10.0.0.2",7000,6000,0\r\n'), '4,CONNECT\r\n\r\nOK\r\n');
    h.send('AT+CIPSEND=4,5\r\n');
    await h.waitFor('>');
    h.send('hello');
    await h.waitFor('SEND OK\r\n');
    const d = await peer.recv();
    assert.equal(latin1Text(d.data), 'hello');
    assert.equal(d.from.port, 6000);
    await peer.send('back', '10.0.0.1:6000');
    await h.waitFor('back');
    assert.ok(h.take().endsWith('\r\n+IPD,4,4:back'));
    await peer.close();
    h.sim.close();
  });

  it('reboot mid-transfer and AP loss: state lost, CLOSED, WIFI DISCONNECT, auto-reconnect', async () => {
    const h = await espHarness({ bootNoise: false });
    await h.online();
    const server = await listen(h, 8080);
    const acc = server.accept();
    await h.cmd('AT+CIPSTART=0,"TCP","10.0.0.2",8080\r\n');
    await acc;
    h.sim.apLoss();
    await h.run(1);
    assert.equal(h.take(), 'WIFI DISCONNECT\r\n0,CLOSED\r\n');
    assert.equal(await h.cmd('AT+CWSTATE?\r\n'), '+CWSTATE:4,"my,ssid"\r\n\r\nOK\r\n');
    await h.run(3000);
    assert.equal(h.take(), '');
    h.sim.apRestore();
    await h.waitFor('WIFI GOT IP\r\n');
    assert.equal(h.take(), 'WIFI CONNECTED\r\nWIFI GOT IP\r\n');
    const acc2 = server.accept();
    await h.cmd('AT+CIPSTART=1,"TCP","10.0.0.2",8080\r\n');
    const peer = await acc2;
    h.send('AT+CIPSEND=1,10\r\n');
    await h.waitFor('>');
    h.send('12345');
    await h.run(10);
    h.sim.crash('wdt');
    await h.waitFor('ready\r\n');
    assert.match(h.take(), /wdt reset\r\n\r\nready\r\n$/);
    assert.equal(await h.cmd('AT+CIPMUX?\r\n'), 'AT+CIPMUX?\r\n+CIPMUX:0\r\n\r\nOK\r\n', 'echo back on, MUX reset');
    await assert.rejects(peer.read(), /ECONNRESET/, 'the socket is gone (reset)');
    await h.waitFor('WIFI GOT IP\r\n', 5000);
    assert.equal(h.take(), 'WIFI CONNECTED\r\nWIFI GOT IP\r\n', 'stored AP joined again after boot');
    await server.close();
    h.sim.close();
  });
});
