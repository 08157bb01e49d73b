// The reference's canonical ESP-AT exchange (at-modules.md §1.6) replayed byte for byte for each
// dialect, active and passive receive, under several seeded chunkings (1-byte reads to 64-byte bursts):
// the exact bytes the driver writes, and what it reports.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isSocketError } from '../../../../src/base/socket-error.ts';
import { BRING_UP, dec, enc, rig, until, runFor, type FakeDialect } from './fake-esp.test.ts';

const REMOTE = { address: new Uint8Array([192, 168, 3, 102]), port: 8080 };
const TCP = { kind: 'tcp' as const, af: 1 as const, remote: REMOTE, localPort: 0, keepAliveS: 0 };
const CASES = [
  { seed: 1, chunkMax: 64 },
  { seed: 7, chunkMax: 1 },
  { seed: 42, chunkMax: 5 },
];

for (const dialect of ['esp-at', 'nonos'] as const satisfies readonly FakeDialect[]) {
  const cur = dialect === 'nonos' ? '_CUR' : '';
  describe(`ESP-AT §1.6 canonical exchange, ${dialect}`, () => {
    for (const { seed, chunkMax } of CASES) {
      it(`active receive (seed ${seed}, reads of 1..${chunkMax} B)`, async () => {
        const r = await rig({ dialect, seed, chunkMax, join: false, esp: { passive: false } });
        assert.deepEqual(r.fake.commands, BRING_UP[dialect].filter((c) => !c.startsWith('AT+CIPRECVMODE')));
        assert.equal(r.driver.pull, false);
        const w = r.fake.wire.length;
        await until(r.fake.sched, r.wifi.join({ ssid: 'my,ssid', password: 'pa"ss' }));
        assert.equal(r.wifi.status, 'got-ip');
        assert.deepEqual(r.driver.localAddress(1), new Uint8Array([192, 168, 3, 112]));
        const link = await until(r.fake.sched, r.driver.open(TCP));
        assert.deepEqual(link, { id: 0 });
        assert.equal(await until(r.fake.sched, r.driver.send(0, enc('test'))), 4);
        r.fake.send('\r\n+IPD,0,2:hi');
        r.fake.send('0,CLOSED\r\n');
        await runFor(r.fake.sched, 50);
        assert.equal(
          r.fake.wire.slice(w),
          `AT+CWJAP${cur}="my\\,ssid","pa\\"ss"\r\nAT+CIPSTA${cur}?\r\nAT+CIPSTART=0,"TCP","192.168.3.102",8080\r\nAT+CIPSEND=0,4\r\ntest`,
        );
        assert.deepEqual(r.log, [
          { kind: 'data', link: 0, text: 'hi' },
          { kind: 'closed', link: 0 },
        ]);
        assert.equal(r.fake.sent.get(0), 'test');
        await r.driver.dispose();
      });

      it(`passive receive (seed ${seed}, reads of 1..${chunkMax} B)`, async () => {
        // Without CIPDINFO the reply is the canonical `+CIPRECVDATA:4,test` (the firmware refusing it is tolerated).
        const r = await rig({ dialect, seed, chunkMax, join: false, setup: (f) => f.on('AT+CIPDINFO=1', '\r\nERROR\r\n') });
        const w0 = r.fake.commands.length;
        assert.equal(r.driver.pull, true);
        assert.equal(r.module.dinfo, false);
        await until(r.fake.sched, r.wifi.join({ ssid: 'my,ssid', password: 'pa"ss' }));
        await until(r.fake.sched, r.driver.open(TCP));
        const w = r.fake.wire.length;
        r.fake.peerData(0, 'test');
        await runFor(r.fake.sched, 50);
        assert.deepEqual(r.log, [{ kind: 'readable', link: 0, available: 4 }]);
        const got = await until(r.fake.sched, r.driver.read(0, 4));
        assert.equal(dec(got.bytes), 'test');
        assert.equal(got.from, undefined);
        assert.equal(r.fake.wire.slice(w), 'AT+CIPRECVLEN?\r\nAT+CIPRECVDATA=0,4\r\n');
        // Drained: the next read is `ERROR` = nothing.
        const none = await until(r.fake.sched, r.driver.read(0, 4));
        assert.equal(none.bytes.length, 0);
        assert.deepEqual(r.fake.since(w0).slice(0, 3), [`AT+CWJAP${cur}="my\\,ssid","pa\\"ss"`, `AT+CIPSTA${cur}?`, 'AT+CIPSTART=0,"TCP","192.168.3.102",8080']);
        await r.driver.dispose();
      });
    }

    it('bad password: +CWJAP:2 then the dialect\'s failure final → ECONNREFUSED wifi-auth-failure', async () => {
      const r = await rig({ dialect, join: false });
      r.fake.on(/^AT\+CWJAP/, `+CWJAP:2\r\n\r\n${dialect === 'nonos' ? 'FAIL' : 'ERROR'}\r\n`);
      await assert.rejects(until(r.fake.sched, r.wifi.join({ ssid: 'my,ssid', password: 'pa"ss' })), (e) =>
        isSocketError(e, 'ECONNREFUSED') && e.detail.reason === 'wifi-auth-failure' && e.detail.op === 'join');
      assert.equal(r.wifi.status, 'idle');
      await r.driver.dispose();
    });
  });
}
