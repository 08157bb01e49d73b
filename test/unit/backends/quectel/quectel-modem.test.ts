// The Quectel cellular control side against the scripted fake: SIM states, signal, registration
// (read form vs URC), registration deadline, baud probing, reset recovery with its rate limit, an
// unresponsive module, and the parsers on their own.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isSocketError, type SocketError } from '../../../../src/base/socket-error.ts';
import { XorShiftRng } from '../../../../src/base/rand.ts';
import { VirtualScheduler } from '../../../../src/base/time.ts';
import { createBytePipe } from '../../../../src/link/byte-pipe.ts';
import { QuectelModem, type SignalInfo } from '../../../../src/backends/quectel/index.ts';
import { parseCsq, parseQiact, parseRegistration } from '../../../../src/backends/quectel/quectel-parse.ts';
import { drive, FakeQuectel, idle, OK, openTcp, rig, upRig } from './fake-quectel.ts';

function isErr(code: string, reason?: string): (e: unknown) => boolean {
  return (e) => {
    assert.ok(isSocketError(e), `not a SocketError: ${String(e)}`);
    assert.equal((e as SocketError).code, code, (e as SocketError).message);
    if (reason !== undefined) assert.equal((e as SocketError).detail.reason, reason);
    return true;
  };
}

describe('Quectel parsers', () => {
  it('registration: the read form has <n> first, the URC does not', () => {
    assert.deepEqual(parseRegistration('+CEREG: 2,1,"2B67","A4F3C02",8'), { kind: 'CEREG', stat: 1, tac: '2B67', ci: 'A4F3C02', act: 8 });
    assert.deepEqual(parseRegistration('+CEREG: 5,"2B67","A4F3C02",9'), { kind: 'CEREG', stat: 5, tac: '2B67', ci: 'A4F3C02', act: 9 });
    assert.deepEqual(parseRegistration('+CREG: 2,2'), { kind: 'CREG', stat: 2 });
    assert.deepEqual(parseRegistration('+CGREG: 3'), { kind: 'CGREG', stat: 3 });
    assert.equal(parseRegistration('+CEREG: x'), undefined);
    assert.equal(parseRegistration('+COPS: 0'), undefined);
  });

  it('CSQ 99 is unknown; QIACT? lines', () => {
    assert.deepEqual(parseCsq('+CSQ: 99,99'), { rssi: 99, ber: 99, dbm: undefined });
    assert.deepEqual(parseCsq('+CSQ: 20,99'), { rssi: 20, ber: 99, dbm: -73 });
    assert.deepEqual(parseQiact('+QIACT: 1,1,1,"10.171.134.243"'), { cid: 1, state: 1, type: 1, address: '10.171.134.243' });
  });
});

describe('Quectel modem: SIM', () => {
  it('+CME ERROR: 14 (SIM busy) is retried', async () => {
    const r = rig(1, {}, (f) => {
      let busy = 2;
      f.on(/^AT\+CPIN\?$/, () => (busy-- > 0 ? '\r\n+CME ERROR: 14\r\n' : '\r\n+CPIN: READY\r\n\r\nOK\r\n'));
    });
    await drive(r.sched, r.modem.start());
    assert.equal(r.fake.commands.filter((c) => c === 'AT+CPIN?').length, 3);
    assert.ok(r.sched.now() >= 2000);
  });

  it('SIM PIN: the PIN is entered once', async () => {
    const r = rig(2, { pin: '1234' }, (f) => {
      let locked = true;
      f.on(/^AT\+CPIN\?$/, () => `\r\n+CPIN: ${locked ? 'SIM PIN' : 'READY'}\r\n\r\nOK\r\n`);
      f.on(/^AT\+CPIN="1234"$/, () => {
        locked = false;
        return OK;
      });
    });
    await drive(r.sched, r.modem.start());
    assert.deepEqual(r.fake.commands.filter((c) => c.startsWith('AT+CPIN')), ['AT+CPIN?', 'AT+CPIN="1234"', 'AT+CPIN?']);
  });

  it('SIM PIN without a configured PIN, a wrong PIN, no SIM: clear SocketErrors, no retries of the PIN', async () => {
    const pinAsked = (f: FakeQuectel): void => f.on(/^AT\+CPIN\?$/, () => '\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n');
    const a = rig(3, {}, pinAsked);
    await assert.rejects(drive(a.sched, a.modem.start()), isErr('ERROR', 'sim-pin-required'));
    assert.equal(a.modem.status, 'failed');
    const b = rig(4, { pin: '0000' }, (f) => {
      pinAsked(f);
      f.on(/^AT\+CPIN="0000"$/, () => '\r\n+CME ERROR: 16\r\n');
    });
    await assert.rejects(drive(b.sched, b.modem.start()), isErr('ERROR', 'sim-pin-rejected'));
    assert.equal(b.fake.commands.filter((c) => c.startsWith('AT+CPIN="')).length, 1);
    const c = rig(5, {}, (f) => f.on(/^AT\+CPIN\?$/, () => '\r\n+CME ERROR: 10\r\n'));
    await assert.rejects(drive(c.sched, c.modem.start()), isErr('ERROR', 'no-sim'));
  });
});

describe('Quectel modem: signal and registration', () => {
  it('CSQ 99 reports an unknown signal; registration URCs move the status both ways', async () => {
    const signals: SignalInfo[] = [];
    const r = rig(6, {}, (f) => f.on(/^AT\+CSQ$/, () => '\r\n+CSQ: 99,99\r\n\r\nOK\r\n'));
    r.modem.on('signal', (s) => signals.push(s));
    await drive(r.sched, r.modem.start());
    assert.deepEqual(signals, [{ rssi: 99, ber: 99, dbm: undefined }]);
    const statuses: string[] = [];
    r.modem.on('status', (s) => statuses.push(s));
    const regs: string[] = [];
    r.modem.on('registration', (x) => regs.push(`${x.kind} ${x.stat} ${x.tac ?? ''} ${x.ci ?? ''} ${x.act ?? ''}`));
    r.fake.emit('\r\n+CEREG: 2\r\n');
    await idle(r.sched, 10);
    assert.deepEqual(statuses, ['sim-ready']);
    r.fake.emit('\r\n+CEREG: 1,"2B68","A4F3C03",9\r\n');
    await idle(r.sched, 10);
    assert.deepEqual(statuses, ['sim-ready', 'pdp-active']);
    assert.deepEqual(regs, ['CEREG 2   ', 'CEREG 1 2B68 A4F3C03 9']);
  });

  it('waits for registration (searching, then a roaming URC); times out with registration-denied', async () => {
    const r = rig(7, {}, (f) => {
      f.on(/^AT\+CEREG\?$/, () => '\r\n+CEREG: 2,2\r\n\r\nOK\r\n');
      f.on(/^AT\+CREG\?$/, () => '\r\n+CREG: 2,2\r\n\r\nOK\r\n');
      f.on(/^AT\+CEREG=2$/, (_m, fake) => {
        fake.later(30_000, '\r\n+CEREG: 5,"2B67","A4F3C02",8\r\n');
        return OK;
      });
    });
    await drive(r.sched, r.modem.start());
    assert.ok(r.sched.now() >= 30_000);
    assert.equal(r.modem.registration('CEREG')?.stat, 5);

    const d = rig(8, { registrationTimeoutMs: 60_000 }, (f) => {
      f.on(/^AT\+CEREG\?$/, () => '\r\n+CEREG: 2,3\r\n\r\nOK\r\n');
    });
    await assert.rejects(drive(d.sched, d.modem.start()), isErr('ETIMEDOUT', 'registration-denied'));
    assert.ok(d.sched.now() >= 60_000);
  });

  it('an APN with a quote is refused before it reaches the module (§6.18)', async () => {
    const r = rig(9, { apn: 'bad"apn' });
    await assert.rejects(drive(r.sched, r.modem.start()), isErr('EINVAL', 'bad-apn'));
    assert.ok(!r.fake.commands.some((c) => c.startsWith('AT+QICSGP')));
  });

  it('user and password: the long QICSGP form with PAP', async () => {
    const r = await upRig(10, { apn: 'iot.example', user: 'u', password: 'p' });
    assert.ok(r.fake.commands.includes('AT+QICSGP=1,1,"iot.example","u","p",1'));
  });
});

describe('Quectel modem: finding the module (§6.13)', () => {
  it('unknown baud: AT at 115200 gets garbage back, probing finds 9600', async () => {
    const sched = new VirtualScheduler();
    const [host, module] = createBytePipe({
      scheduler: sched,
      chunking: { rng: new XorShiftRng(5), min: 1, max: 16 },
      garbleOnBaudMismatch: true,
      a: { baudRate: 115_200 },
      b: { baudRate: 9_600 },
    });
    const fake = new FakeQuectel(sched, module);
    const modem = new QuectelModem({ stream: host, scheduler: sched, apn: 'CMNET' });
    await drive(sched, modem.start());
    assert.equal(host.baudRate, 9_600);
    assert.equal(modem.status, 'pdp-active');
    assert.ok(fake.commands.includes('ATE0'));
  });
});

describe('Quectel modem: resets (§6.12)', () => {
  it('bring-up re-runs after RDY, three times at once within an hour, then after 10 min', async () => {
    const r = await upRig(11);
    const resets: string[] = [];
    r.modem.on('reset', (x) => resets.push(`${x.reason} ${x.banner ?? ''}`));
    const upAt: number[] = [];
    r.modem.on('pdp-up', () => upAt.push(r.sched.now()));
    for (let i = 0; i < 4; i++) {
      const t = r.sched.now();
      r.fake.reboot(i % 2 === 0 ? 'RDY' : 'APP RDY');
      await idle(r.sched, 5000);
      if (i < 3) assert.ok((upAt[i] ?? Infinity) - t < 5000, `bring-up ${i} immediate`);
    }
    assert.equal(upAt.length, 3);
    await idle(r.sched, 600_000);
    assert.equal(upAt.length, 4);
    assert.ok((upAt[3] ?? 0) - (upAt[2] ?? 0) >= 600_000);
    assert.deepEqual(resets, ['module-reset RDY', 'module-reset APP RDY', 'module-reset RDY', 'module-reset APP RDY']);
    assert.equal(r.modem.status, 'pdp-active');
    assert.deepEqual(await drive(r.sched, openTcp(r)), { id: 0 });
  });

  it('RDY then APP RDY of one boot count once', async () => {
    const r = await upRig(12);
    let ups = 0;
    r.modem.on('pdp-up', () => ups++);
    for (let i = 0; i < 3; i++) {
      r.fake.reboot('RDY');
      r.fake.later(200, '\r\nAPP RDY\r\n');
      await idle(r.sched, 5000);
    }
    assert.equal(ups, 3);
    r.fake.reboot('RDY');
    await idle(r.sched, 5000);
    assert.equal(ups, 3, 'the fourth reboot within the hour backs off');
  });

  it('a module that stops answering: reset reason unresponsive, links lost, bring-up retried with back-off', async () => {
    const r = await upRig(13);
    await drive(r.sched, openTcp(r));
    const errors: SocketError[] = [];
    r.modem.on('error', (e) => errors.push(e));
    r.fake.alive = false;
    await assert.rejects(drive(r.sched, r.driver.read(0, 10)), isErr('ETIMEDOUT'));
    await assert.rejects(drive(r.sched, r.driver.send(0, new Uint8Array([1]))), isErr('ETIMEDOUT'));
    assert.deepEqual(r.events.log, ['lost ECONNABORTED unresponsive']);
    await idle(r.sched, 60_000);
    assert.ok(errors.length >= 1);
    assert.ok(errors.every((e) => e.code === 'ETIMEDOUT' && e.detail.reason === 'no-response'));
    r.fake.alive = true;
    await idle(r.sched, 4 * 3_600_000);
    assert.equal(r.modem.status, 'pdp-active');
  });
});
