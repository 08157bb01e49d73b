// The reference's §3 canonical exchange, byte for byte: the fake answers with the reference's exact
// bytes and the test asserts the exact bytes the driver writes, under several seeded chunkings.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dec, drive, enc, idle, openTcp, rig, type FakeQuectel } from './fake-quectel.ts';

/** The §3 exchange, replies verbatim from the reference (echo off). */
function canonical(f: FakeQuectel): void {
  f.on(/^AT\+QICSGP=1,1,"CMNET"$/, () => '\r\nOK\r\n');
  f.on(/^AT\+QIACT=1$/, () => '\r\nOK\r\n');
  f.on(/^AT\+QIACT\?$/, () => '\r\n+QIACT: 1,1,1,"10.171.134.243"\r\n\r\nOK\r\n');
  f.on(/^AT\+QIOPEN=1,0,"TCP","220\.180\.239\.212",8009,0,0$/, (_m, fake) => {
    fake.later(20, '\r\n+QIOPEN: 0,0\r\n');
    return '\r\nOK\r\n';
  });
  f.on(/^AT\+QISEND=0,4$/, (_m, fake) => {
    fake.expectData(4, () => fake.later(1, '\r\nSEND OK\r\n'));
    return '\r\n> ';
  });
  f.on(/^AT\+QIRD=0,1500$/, () => '\r\n+QIRD: 0\r\n\r\nOK\r\n');
  f.once(/^AT\+QIRD=0,1500$/, () => '\r\n+QIRD: 5\r\ntest1\r\n\r\nOK\r\n'); // rules added later win
}

const BRING_UP = [
  'AT\r',
  'ATE0\r',
  'AT+CMEE=1\r',
  'ATI\r',
  'AT+CGSN\r',
  ...Array.from({ length: 12 }, (_, i) => `AT+QICLOSE=${i}\r`),
  'AT+CPIN?\r',
  'AT+CSQ\r',
  'AT+CREG=2\r',
  'AT+CGREG=2\r',
  'AT+CEREG=2\r',
  'AT+CEREG?\r',
  'AT+CGREG?\r',
  'AT+CREG?\r',
];

describe('Quectel: reference §3 canonical exchange', () => {
  for (const seed of [1, 7, 42, 1234]) {
    it(`bring-up, QICSGP/QIACT/QIOPEN/QISEND/QIRD/QICLOSE byte for byte (chunking seed ${seed})`, async () => {
      const r = rig(seed, {}, canonical);
      const statuses: string[] = [];
      r.modem.on('status', (s) => statuses.push(s));
      await drive(r.sched, r.modem.start());
      assert.deepEqual(statuses, ['starting', 'sim-ready', 'registered', 'pdp-active']);
      assert.equal(r.modem.identity?.model, 'BG96');
      assert.equal(r.modem.imei, '866425030000001');
      assert.equal(r.driver.name, 'at:bg96');
      assert.deepEqual([...(r.driver.localAddress(1) ?? [])], [10, 171, 134, 243]);

      const mark = r.fake.rx.length;
      const link = await drive(r.sched, openTcp(r));
      assert.deepEqual(link, { id: 0 });
      assert.equal(await drive(r.sched, r.driver.send(0, enc('test'))), 4);
      r.fake.emit('\r\n+QIURC: "recv",0\r\n');
      await idle(r.sched, 5);
      assert.deepEqual(r.events.log, ['readable 0 -1']);
      const first = await drive(r.sched, r.driver.read(0, 1500));
      assert.equal(dec(first.bytes), 'test1');
      const second = await drive(r.sched, r.driver.read(0, 1500));
      assert.equal(second.bytes.length, 0);
      await drive(r.sched, r.driver.closeLink(0));

      assert.equal(
        r.fake.rx,
        [
          ...BRING_UP,
          'AT+QICSGP=1,1,"CMNET"\r',
          'AT+QIACT=1\r',
          'AT+QIACT?\r',
          'AT+QIOPEN=1,0,"TCP","220.180.239.212",8009,0,0\r',
          'AT+QISEND=0,4\r',
          'test',
          'AT+QIRD=0,1500\r',
          'AT+QIRD=0,1500\r',
          'AT+QICLOSE=0\r',
        ].join(''),
      );
      assert.equal(r.fake.rx.slice(mark), 'AT+QIOPEN=1,0,"TCP","220.180.239.212",8009,0,0\rAT+QISEND=0,4\rtestAT+QIRD=0,1500\rAT+QIRD=0,1500\rAT+QICLOSE=0\r');
      assert.deepEqual(r.driver.linkIds, []);
      assert.equal(r.sched.pendingTimers(), 0);
    });
  }
});
