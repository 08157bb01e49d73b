// The Quectel socket driver against the scripted fake module: one test (or a few) per applicable
// edge case of reference at-modules.md §6, each under seeded chunking, on virtual time. Every test
// drives time with `drive`, which fails on a hang; failures must be clear SocketErrors.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isSocketError, type SocketError } from '../../../../src/base/socket-error.ts';
import { dec, drive, enc, ERROR, idle, OK, openTcp, upRig, type Rig } from './fake-quectel.ts';

const SEEDS = [3, 99];

async function readAll(r: Rig, id: number, max = 1500): Promise<Uint8Array> {
  const parts: number[] = [];
  for (;;) {
    const got = await drive(r.sched, r.driver.read(id, max));
    if (got.bytes.length === 0) return Uint8Array.from(parts);
    parts.push(...got.bytes);
  }
}

function isErr(code: string, reason?: string): (e: unknown) => boolean {
  return (e) => {
    assert.ok(isSocketError(e), `not a SocketError: ${String(e)}`);
    assert.equal((e as SocketError).code, code, (e as SocketError).message);
    if (reason !== undefined) assert.equal((e as SocketError).detail.reason, reason);
    return true;
  };
}

/** The commands written after the bring-up. */
function after(r: Rig, mark: number): string[] {
  return r.fake.commands.slice(mark);
}

describe('Quectel driver §6.1: URCs anywhere', () => {
  for (const seed of SEEDS) {
    it(`a recv URC between > and SEND OK, a registration URC and a closed URC between +QIRD data and OK (seed ${seed})`, async () => {
      const r = await upRig(seed);
      const a = await drive(r.sched, openTcp(r));
      const b = await drive(r.sched, openTcp(r));
      assert.deepEqual([a.id, b.id], [0, 1]);
      r.fake.sockets.get(1)!.unread = enc('zz');
      r.fake.once(/^AT\+QISEND=0,4$/, (_m, f) => {
        f.expectData(4, () => f.later(1, '\r\n+QIURC: "recv",1\r\n\r\nSEND OK\r\n'));
        return '\r\n> ';
      });
      assert.equal(await drive(r.sched, r.driver.send(0, enc('abcd'))), 4);
      const regs: number[] = [];
      r.modem.on('registration', (x) => regs.push(x.stat));
      r.fake.once(/^AT\+QIRD=1,1500$/, () => '\r\n+QIRD: 2\r\nzz\r\n\r\n+CEREG: 5,"2B67","A4F3C02",8\r\n\r\n+QIURC: "closed",0\r\n\r\nOK\r\n');
      const got = await drive(r.sched, r.driver.read(1, 1500));
      assert.equal(dec(got.bytes), 'zz');
      await idle(r.sched, 50);
      assert.deepEqual(regs, [5]);
      assert.deepEqual(r.events.log, ['readable 1 -1', 'closed 0']);
      assert.ok(r.fake.commands.includes('AT+QIRD=0,0'), 'unread count asked after the closed URC');
    });
  }
});

describe('Quectel driver §6.2/§6.20: binary payloads are counted, never line-split', () => {
  for (const seed of SEEDS) {
    it(`all 256 byte values, CR LF, OK, ERROR, +QIRD: 5, > and NUL arrive intact and in order (seed ${seed})`, async () => {
      const r = await upRig(seed);
      const { id } = await drive(r.sched, openTcp(r));
      const tricky = enc('\r\nOK\r\n\r\nERROR\r\n+QIRD: 5\r\n> \x00\x1a\x1b+QIURC: "closed",0\r\nRDY\r\n');
      const all = new Uint8Array(256 * 8 + tricky.length);
      for (let i = 0; i < 256 * 8; i++) all[i] = (i * 7 + (i >> 8)) & 0xff;
      all.set(tricky, 256 * 8);
      r.fake.deliver(id, all);
      await idle(r.sched, 20);
      assert.deepEqual(r.events.log, [`readable ${id} -1`]);
      const got = await readAll(r, id);
      assert.deepEqual(got, all);
      // Sending: the same bytes go out raw after the prompt.
      assert.equal(await drive(r.sched, r.driver.send(id, tricky)), tricky.length);
      assert.deepEqual(r.fake.sent.at(-1)?.bytes, tricky);
      assert.deepEqual(r.events.log, [`readable ${id} -1`]);
    });
  }
});

describe('Quectel driver §6.3: payload glued to the next message', () => {
  it('a payload ending in CR LF, then OK; a payload "OK" then OK', async () => {
    const r = await upRig(5);
    const { id } = await drive(r.sched, openTcp(r));
    r.fake.once(/^AT\+QIRD=0,1500$/, () => '\r\n+QIRD: 4\r\nab\r\n\r\nOK\r\n');
    assert.equal(dec((await drive(r.sched, r.driver.read(id, 1500))).bytes), 'ab\r\n');
    r.fake.once(/^AT\+QIRD=0,1500$/, () => '\r\n+QIRD: 2\r\nOK\r\nOK\r\n');
    assert.equal(dec((await drive(r.sched, r.driver.read(id, 1500))).bytes), 'OK');
    r.fake.once(/^AT\+QIRD=0,1500$/, () => '\r\n+QIRD: 3\r\nxyz\r\n\r\nOK\r\n\r\n+QIURC: "recv",0\r\n');
    assert.equal(dec((await drive(r.sched, r.driver.read(id, 1500))).bytes), 'xyz');
    await idle(r.sched, 10);
    assert.deepEqual(r.events.log, ['readable 0 -1']);
  });
});

describe('Quectel driver §6.1: URCs in the same burst as +QIOPEN', () => {
  it('recv and closed right behind +QIOPEN: the data is read and the close reported, not dropped', async () => {
    const r = await upRig(11);
    r.fake.once(/^AT\+QIOPEN=1,0,"TCP"/, (_m, f) => {
      f.sockets.set(0, { unread: enc('Tuesday\r\n'), total: 9, datagrams: [], service: false, notified: true });
      f.later(f.delayMs, '\r\n+QIOPEN: 0,0\r\n\r\n+QIURC: "recv",0\r\n\r\n+QIURC: "closed",0\r\n');
      return OK;
    });
    const { id } = await drive(r.sched, openTcp(r));
    assert.equal(dec(await readAll(r, id)), 'Tuesday\r\n');
    await idle(r.sched, 100);
    assert.ok(r.events.log.includes('closed 0'), r.events.log.join(' | '));
  });
});

describe('Quectel driver §6.5: echo still on', () => {
  for (const seed of SEEDS) {
    it(`ATE0 that does not take: bring-up, open, send and read work with every command echoed (seed ${seed})`, async () => {
      const r = await upRig(seed, {}, (f) => {
        f.echo = true;
        f.on(/^ATE0$/, () => OK);
      });
      assert.equal(r.modem.status, 'pdp-active');
      const { id } = await drive(r.sched, openTcp(r));
      assert.equal(await drive(r.sched, r.driver.send(id, enc('ping'))), 4);
      r.fake.deliver(id, 'pong');
      assert.equal(dec(await readAll(r, id)), 'pong');
      assert.ok(r.fake.echo);
    });
  }
});

describe('Quectel driver §6.7: send acknowledgements', () => {
  it('SEND FAIL (buffer full) resolves 0, the retry SEND OK resolves the length', async () => {
    const r = await upRig(11);
    const { id } = await drive(r.sched, openTcp(r));
    r.fake.once(/^AT\+QISEND=0,5$/, (_m, f) => {
      f.expectData(5, () => f.later(1, '\r\nSEND FAIL\r\n'));
      return '\r\n> ';
    });
    assert.equal(await drive(r.sched, r.driver.send(id, enc('hello'))), 0);
    assert.equal(await drive(r.sched, r.driver.send(id, enc('hello'))), 5);
    assert.equal(r.driver.stats.sendFails, 1);
  });

  it('a missing SEND OK is settled by AT+QISEND=<id>,0 after a resync', async () => {
    const r = await upRig(12);
    const { id } = await drive(r.sched, openTcp(r));
    assert.equal(await drive(r.sched, r.driver.send(id, enc('abc'))), 3);
    r.fake.once(/^AT\+QISEND=0,4$/, (_m, f) => {
      f.expectData(4, (b) => {
        f.sockets.get(0)!.total += b.length; // taken, but no SEND OK
      });
      return '\r\n> ';
    });
    const mark = r.fake.commands.length;
    const t0 = r.sched.now();
    assert.equal(await drive(r.sched, r.driver.send(id, enc('defg'))), 4);
    assert.ok(r.sched.now() - t0 >= 5000);
    assert.deepEqual(after(r, mark), ['AT+QISEND=0,4', 'AT', 'AT+QISEND=0,0']);
    assert.equal(r.driver.stats.sendRecounts, 1);
  });

  it('ERROR (not connected) rejects ECONNABORTED; a send on an unknown link rejects ENOTCONN without a command', async () => {
    const r = await upRig(13);
    const { id } = await drive(r.sched, openTcp(r));
    r.fake.once(/^AT\+QISEND=0,2$/, () => ERROR);
    await assert.rejects(drive(r.sched, r.driver.send(id, enc('hi'))), isErr('ECONNABORTED', 'not-connected'));
    const mark = r.fake.commands.length;
    await assert.rejects(drive(r.sched, r.driver.send(7, enc('hi'))), isErr('ENOTCONN', 'no-link'));
    assert.deepEqual(after(r, mark), []);
  });
});

describe('Quectel driver §6.8: module limits', () => {
  it('sends are cut to 1460 bytes, reads ask at most 1500', async () => {
    const r = await upRig(21);
    const { id } = await drive(r.sched, openTcp(r));
    const big = new Uint8Array(3000).map((_, i) => i & 0xff);
    assert.equal(await drive(r.sched, r.driver.send(id, big)), 1460);
    assert.deepEqual(r.fake.sent.at(-1)?.bytes, big.subarray(0, 1460));
    r.fake.deliver(id, big);
    const mark = r.fake.commands.length;
    const got = await drive(r.sched, r.driver.read(id, 4000));
    assert.equal(got.bytes.length, 1500);
    assert.deepEqual(after(r, mark), ['AT+QIRD=0,1500']);
  });
});

describe('Quectel driver §6.9: pull mode', () => {
  for (const seed of SEEDS) {
    it(`never more than asked; drain until +QIRD: 0; a closed URC waits until the data is read (seed ${seed})`, async () => {
      const r = await upRig(seed);
      const { id } = await drive(r.sched, openTcp(r));
      r.fake.deliver(id, 'hello world');
      await idle(r.sched, 10);
      const mark = r.fake.commands.length;
      assert.equal(dec((await drive(r.sched, r.driver.read(id, 5))).bytes), 'hello');
      assert.deepEqual(after(r, mark), ['AT+QIRD=0,5']);
      // A module that returns more than asked: the rest is kept for the next read, none lost.
      r.fake.once(/^AT\+QIRD=0,3$/, (_m, f) => {
        const s = f.sockets.get(0)!;
        const b = s.unread.subarray(0, 6);
        s.unread = s.unread.slice(6);
        return `\r\n+QIRD: 6\r\n${dec(b)}\r\n\r\nOK\r\n`;
      });
      assert.equal(dec((await drive(r.sched, r.driver.read(id, 3))).bytes), ' wo');
      const m2 = r.fake.commands.length;
      assert.equal(dec((await drive(r.sched, r.driver.read(id, 3))).bytes), 'rld');
      assert.deepEqual(after(r, m2), [], 'served from what the module over-delivered');
      // Late close: data still unread.
      r.fake.deliver(id, 'bye');
      r.fake.peerClose(id);
      await idle(r.sched, 20);
      assert.deepEqual(r.events.log, ['readable 0 -1', 'readable 0 3']);
      assert.equal(dec(await readAll(r, id)), 'bye');
      await idle(r.sched, 20);
      assert.deepEqual(r.events.log, ['readable 0 -1', 'readable 0 3', 'closed 0']);
      assert.equal(r.fake.commands.at(-1), 'AT+QICLOSE=0');
      assert.deepEqual(r.driver.linkIds, []);
    });
  }

  it('closed with nothing unread closes at once', async () => {
    const r = await upRig(4);
    const { id } = await drive(r.sched, openTcp(r));
    r.fake.peerClose(id);
    await idle(r.sched, 20);
    assert.deepEqual(r.events.log, ['closed 0']);
    assert.deepEqual(r.fake.commands.slice(-2), ['AT+QIRD=0,0', 'AT+QICLOSE=0']);
  });
});

describe('Quectel driver §6.10: close races', () => {
  it('a closed URC during our QICLOSE: no closed event, one QICLOSE', async () => {
    const r = await upRig(6);
    const { id } = await drive(r.sched, openTcp(r));
    r.fake.once(/^AT\+QICLOSE=0$/, () => '\r\n+QIURC: "closed",0\r\n\r\nOK\r\n');
    await drive(r.sched, r.driver.closeLink(id));
    await idle(r.sched, 20);
    assert.deepEqual(r.events.log, []);
    assert.equal(r.fake.commands.filter((c) => c === 'AT+QICLOSE=0').length, 2, 'once at bring-up (stale), once now');
  });

  it('an id whose close is pending is not reused', async () => {
    const r = await upRig(7);
    const { id } = await drive(r.sched, openTcp(r));
    r.fake.once(/^AT\+QICLOSE=0$/, (_m, f) => {
      f.later(3000, OK);
      return undefined;
    });
    const closing = r.driver.closeLink(id);
    const next = await drive(r.sched, openTcp(r));
    assert.equal(next.id, 1);
    await drive(r.sched, closing);
    assert.deepEqual(r.driver.linkIds, [1]);
  });
});

describe('Quectel driver §6.11: link ids', () => {
  it('the module opens another id than asked: that id is closed, the open fails clearly', async () => {
    const r = await upRig(8);
    r.fake.once(/^AT\+QIOPEN=1,0,/, (_m, f) => {
      f.later(10, '\r\n+QIOPEN: 3,0\r\n');
      return OK;
    });
    const mark = r.fake.commands.length;
    await assert.rejects(drive(r.sched, openTcp(r)), isErr('ERROR', 'wrong-id'));
    await idle(r.sched, 20);
    assert.deepEqual(after(r, mark).slice(1).sort(), ['AT+QICLOSE=0', 'AT+QICLOSE=3']);
    assert.deepEqual(r.driver.linkIds, []);
    assert.equal(r.driver.stats.strayLinks, 1);
  });

  it('563 (id in use): close it and retry with another id', async () => {
    const r = await upRig(9);
    r.fake.once(/^AT\+QIOPEN=1,0,/, (_m, f) => {
      f.later(10, '\r\n+QIOPEN: 0,563\r\n');
      return OK;
    });
    const mark = r.fake.commands.length;
    assert.deepEqual(await drive(r.sched, openTcp(r)), { id: 1 });
    assert.deepEqual(after(r, mark), ['AT+QIOPEN=1,0,"TCP","220.180.239.212",8009,0,0', 'AT+QICLOSE=0', 'AT+QIOPEN=1,1,"TCP","220.180.239.212",8009,0,0']);
  });

  it('TCP LISTENER: incoming connections become accepted links, later opens skip their ids', async () => {
    const r = await upRig(10);
    const mark = r.fake.commands.length;
    await drive(r.sched, r.driver.listen(8080, 4));
    assert.deepEqual(after(r, mark), ['AT+QIOPEN=1,0,"TCP LISTENER","127.0.0.1",0,8080,0']);
    r.fake.sockets.set(1, { unread: new Uint8Array(0), total: 0, datagrams: [], service: false, notified: false });
    r.fake.emit('\r\n+QIURC: "incoming",1,0,"10.0.0.9",5555\r\n');
    await idle(r.sched, 10);
    assert.deepEqual(r.events.log, ['accepted 1 10.0.0.9:5555 on 8080']);
    r.fake.deliver(1, 'from client');
    assert.equal(dec(await readAll(r, 1)), 'from client');
    assert.deepEqual(await drive(r.sched, openTcp(r)), { id: 2 });
    await assert.rejects(drive(r.sched, r.driver.listen(8080, 1)), isErr('EADDRINUSE'));
    await drive(r.sched, r.driver.unlisten(8080));
    assert.equal(r.fake.commands.at(-1), 'AT+QICLOSE=0');
    assert.deepEqual(r.driver.linkIds, [1, 2]);
  });
});

describe('Quectel driver §6.12: module reset', () => {
  for (const seed of SEEDS) {
    it(`RDY during a send: the send fails ECONNABORTED module-reset, links are lost, the bring-up runs again (seed ${seed})`, async () => {
      const r = await upRig(seed);
      await drive(r.sched, openTcp(r));
      await drive(r.sched, openTcp(r));
      r.fake.once(/^AT\+QISEND=1,3$/, (_m, f) => {
        f.later(2, '\r\n> ');
        f.expectData(3, () => f.reboot());
        return undefined;
      });
      const ups: string[] = [];
      r.modem.on('pdp-up', (p) => ups.push(p.address));
      const mark = r.fake.commands.length;
      await assert.rejects(drive(r.sched, r.driver.send(1, enc('abc'))), isErr('ECONNABORTED', 'module-reset'));
      assert.deepEqual(r.events.log, ['lost ECONNABORTED module-reset']);
      assert.deepEqual(r.driver.linkIds, []);
      await idle(r.sched, 5000);
      assert.equal(r.modem.status, 'pdp-active');
      assert.deepEqual(ups, ['10.171.134.243']);
      const again = after(r, mark);
      assert.equal(again.filter((c) => c.startsWith('AT+QICLOSE')).length, 0, 'no stale closes after a module reset');
      assert.ok(again.includes('AT+QIACT=1'));
      // URCs for ids of the previous life are ignored.
      r.fake.emit('\r\n+QIURC: "recv",1\r\n\r\n+QIURC: "closed",0\r\n');
      await idle(r.sched, 10);
      assert.deepEqual(r.events.log, ['lost ECONNABORTED module-reset']);
      assert.deepEqual(await drive(r.sched, openTcp(r)), { id: 0 });
    });
  }
});

describe('Quectel driver §6.13: host reset while the module ran on', () => {
  it('stale ids 0-11 are closed at start; URCs for unknown ids are ignored; a stray +QIOPEN is closed', async () => {
    const r = await upRig(14);
    for (let i = 0; i < 12; i++) assert.ok(r.fake.commands.includes(`AT+QICLOSE=${i}`));
    const mark = r.fake.commands.length;
    r.fake.emit('\r\n+QIURC: "recv",7\r\n\r\n+QIURC: "closed",9\r\n\r\n+QIURC: "incoming",4,2,"1.2.3.4",9\r\n\r\n+QIOPEN: 5,0\r\n');
    await idle(r.sched, 20);
    assert.deepEqual(r.events.log, []);
    assert.deepEqual(after(r, mark), ['AT+QICLOSE=5']);
    assert.equal(r.driver.stats.strayUrcs, 4);
  });
});

describe('Quectel driver §6.14: timeouts', () => {
  it('no +QIOPEN within 150 s: ETIMEDOUT and the id is closed', async () => {
    const r = await upRig(15);
    r.fake.once(/^AT\+QIOPEN=1,0,/, () => OK);
    const t0 = r.sched.now();
    await assert.rejects(drive(r.sched, openTcp(r)), isErr('ETIMEDOUT', 'qiopen-timeout'));
    assert.ok(r.sched.now() - t0 >= 150_000);
    assert.equal(r.fake.commands.at(-1), 'AT+QICLOSE=0');
    assert.deepEqual(r.driver.linkIds, []);
  });

  it('an aborted open closes the link the module opened anyway', async () => {
    const r = await upRig(16);
    r.fake.openDelayMs = 10_000;
    const ac = new AbortController();
    r.sched.setTimer(2000, () => ac.abort());
    await assert.rejects(drive(r.sched, openTcp(r, ac.signal)), isErr('ECONNABORTED', 'aborted'));
    await idle(r.sched, 20_000);
    assert.ok(r.fake.commands.includes('AT+QICLOSE=0'));
    assert.deepEqual(r.driver.linkIds, []);
  });

  it('a command that times out is followed by AT until OK, so its late reply is not taken for the next', async () => {
    const r = await upRig(17);
    const { id } = await drive(r.sched, openTcp(r));
    r.fake.once(/^AT\+QIRD=0,1500$/, (_m, f) => {
      f.later(6000, '\r\n+QIRD: 3\r\nlat\r\n\r\nOK\r\n');
      return undefined;
    });
    await assert.rejects(drive(r.sched, r.driver.read(id, 1500)), isErr('ETIMEDOUT', 'timeout'));
    await idle(r.sched, 2000);
    const mark = r.fake.commands.length;
    r.fake.deliver(id, 'fresh');
    assert.equal(dec(await readAll(r, id)), 'fresh');
    assert.deepEqual(after(r, mark), ['AT', 'AT+QIRD=0,1500', 'AT+QIRD=0,1500']);
  });

  it('566 soon is ECONNREFUSED, 566 after 40 s is ETIMEDOUT; 565 EHOSTNOTFOUND; every code 550-574 is a qi: reason', async () => {
    const r = await upRig(18);
    const failWith = (err: number, after: number): void =>
      r.fake.once(/^AT\+QIOPEN=1,\d+,/, (m, f) => {
        f.later(after, `\r\n+QIOPEN: ${/QIOPEN=1,(\d+)/.exec(m[0])![1]},${err}\r\n`);
        return OK;
      });
    failWith(566, 300);
    await assert.rejects(drive(r.sched, openTcp(r)), isErr('ECONNREFUSED', 'qi:566'));
    failWith(566, 40_000);
    await assert.rejects(drive(r.sched, openTcp(r)), isErr('ETIMEDOUT', 'qi:566'));
    failWith(565, 50);
    await assert.rejects(drive(r.sched, openTcp(r)), isErr('EHOSTNOTFOUND', 'qi:565'));
    for (let err = 550; err <= 574; err++) {
      if (err === 563) continue;
      failWith(err, 5);
      await assert.rejects(drive(r.sched, openTcp(r)), (e) => isSocketError(e) && e.detail.reason === `qi:${err}`);
    }
    assert.deepEqual(r.driver.linkIds, []);
  });
});

describe('Quectel driver: lookup (AT+QIDNSGIP)', () => {
  it('collects the dnsgip URCs; 565 → EHOSTNOTFOUND; no URC within 60 s → ETIMEDOUT; bad names refused', async () => {
    const r = await upRig(19);
    r.fake.once(/^AT\+QIDNSGIP=1,"example\.com"$/, (_m, f) => {
      f.later(30, '\r\n+QIURC: "dnsgip",0,2,600\r\n\r\n+QIURC: "dnsgip","93.184.216.34"\r\n\r\n+QIURC: "dnsgip","93.184.216.35"\r\n');
      return OK;
    });
    assert.deepEqual([...((await drive(r.sched, r.driver.lookup('example.com', 1))) as Uint8Array)], [93, 184, 216, 34]);
    r.fake.once(/^AT\+QIDNSGIP=/, (_m, f) => {
      f.later(30, '\r\n+QIURC: "dnsgip",565\r\n');
      return OK;
    });
    await assert.rejects(drive(r.sched, r.driver.lookupDetailed('nx.example', 1)), isErr('EHOSTNOTFOUND', 'qi:565'));
    r.fake.once(/^AT\+QIDNSGIP=/, () => OK);
    await assert.rejects(drive(r.sched, r.driver.lookupDetailed('slow.example', 1)), isErr('ETIMEDOUT', 'dns-timeout'));
    const mark = r.fake.commands.length;
    await assert.rejects(drive(r.sched, r.driver.lookupDetailed('a"b,c', 1)), isErr('EHOSTNOTFOUND', 'bad-name'));
    assert.deepEqual(after(r, mark), []);
    // The SocketBackend form: a negative IoT code instead of a rejection.
    assert.equal(await drive(r.sched, r.driver.lookup('a"b', 1)), -16);
  });
});

describe('Quectel driver: UDP SERVICE', () => {
  it('open with the local port, sends carry their destination, reads report the source', async () => {
    const r = await upRig(20);
    const mark = r.fake.commands.length;
    const link = await drive(r.sched, r.driver.open({ kind: 'udp', af: 1, remote: { address: new Uint8Array(4), port: 0 }, localPort: 5000, keepAliveS: 0 }));
    assert.deepEqual(link, { id: 0, localPort: 5000 });
    assert.equal(await drive(r.sched, r.driver.send(0, enc('q?'), { address: new Uint8Array([10, 0, 0, 9]), port: 7 })), 2);
    assert.deepEqual(after(r, mark), ['AT+QIOPEN=1,0,"UDP SERVICE","127.0.0.1",0,5000,0', 'AT+QISEND=0,2,"10.0.0.9",7']);
    r.fake.deliverDatagram(0, enc('a\r\nb'), '10.0.0.9', 7);
    await idle(r.sched, 10);
    const got = await drive(r.sched, r.driver.read(0, 1500));
    assert.equal(dec(got.bytes), 'a\r\nb');
    assert.deepEqual(got.from, { address: new Uint8Array([10, 0, 0, 9]), port: 7 });
    await assert.rejects(drive(r.sched, r.driver.send(0, enc('x'))), isErr('EINVAL', 'no-destination'));
  });
});

describe('Quectel driver §6.16: PDP loss', () => {
  it('+QIURC: "pdpdeact" → lost pdp-deact, AT+QIDEACT, the context is reactivated', async () => {
    const r = await upRig(22);
    await drive(r.sched, openTcp(r));
    const downs: string[] = [];
    const ups: string[] = [];
    r.modem.on('pdp-down', (d) => downs.push(d.reason));
    r.modem.on('pdp-up', (d) => ups.push(d.address));
    const mark = r.fake.commands.length;
    r.fake.emit('\r\n+QIURC: "pdpdeact",1\r\n');
    await idle(r.sched, 1000);
    assert.deepEqual(r.events.log, ['lost ECONNABORTED pdp-deact']);
    assert.deepEqual(downs, ['pdp-deact']);
    assert.deepEqual(ups, ['10.171.134.243']);
    const cmds = after(r, mark);
    assert.equal(cmds[0], 'AT+QIDEACT=1');
    assert.deepEqual(cmds.slice(-3), ['AT+QICSGP=1,1,"CMNET"', 'AT+QIACT=1', 'AT+QIACT?']);
    assert.equal(r.modem.status, 'pdp-active');
    assert.deepEqual(await drive(r.sched, openTcp(r)), { id: 0 });
  });

  it('opens while no PDP context is active fail ECONNABORTED no-pdp', async () => {
    const r = await upRig(23);
    r.fake.on(/^AT\+QIACT=1$/, () => ERROR);
    r.fake.on(/^AT\+QIACT\?$/, () => OK);
    r.fake.emit('\r\n+QIURC: "pdpdeact",1\r\n');
    await idle(r.sched, 100);
    await assert.rejects(drive(r.sched, openTcp(r)), isErr('ECONNABORTED', 'no-pdp'));
  });
});

describe('Quectel driver §6.21: socket gone without a URC', () => {
  it('QIRD answering ERROR fails the read, reports the link closed once, later reads send nothing', async () => {
    const r = await upRig(24);
    const { id } = await drive(r.sched, openTcp(r));
    r.fake.sockets.delete(0); // the module forgot it
    await assert.rejects(drive(r.sched, r.driver.read(id, 100)), isErr('ECONNABORTED', 'qird-error'));
    await idle(r.sched, 50);
    assert.deepEqual(r.events.log, ['closed 0 ECONNABORTED qird-error']);
    const mark = r.fake.commands.length;
    await assert.rejects(drive(r.sched, r.driver.read(id, 100)), isErr('ENOTCONN'));
    assert.deepEqual(after(r, mark), []);
  });

  it('+CME ERROR: 550 on QIRD maps through the Quectel table', async () => {
    const r = await upRig(25);
    const { id } = await drive(r.sched, openTcp(r));
    r.fake.once(/^AT\+QIRD=0,/, () => '\r\n+CME ERROR: 550\r\n');
    await assert.rejects(drive(r.sched, r.driver.read(id, 100)), isErr('ERROR', 'qi:550'));
    await idle(r.sched, 50);
    assert.deepEqual(r.events.log, ['closed 0 ERROR qi:550']);
  });
});
