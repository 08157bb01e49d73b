/**
 * The Quectel simulator never throws on host input: random bytes mixed with command fragments
 * (data phases, 0x1A/0x1B, opens, reboots, format changes) leave it answering `AT` after a resync,
 * with no handler error and no unhandled rejection.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { bytes, makeRig } from '../unit/apps/sim/quectel-rig.ts';

const FRAGMENTS = [
  'AT\r',
  'ATE1\r',
  'ATV0\r',
  'ATV1\r',
  'AT+CMEE=2\r',
  'AT+QIACT=1\r',
  'AT+QIOPEN=1,0,"TCP","10.0.0.2",80,0,0\r',
  'AT+QIOPEN=1,1,"UDP SERVICE","127.0.0.1",0,5000,1\r',
  'AT+QISEND=0,5\r',
  'AT+QISEND=1\r',
  'AT+QISEND=1,3,"10.0.0.2",7\r',
  'AT+QIRD=0\r',
  'AT+QICLOSE=0\r',
  'AT+CFUN=1,1\r',
  'AT+CFUN=4\r',
  'AT+QPOWD\r',
  'AT+CPIN="1234"\r',
  'AT+CEREG=2;+CREG?\r',
  '\x1a',
  '\x1b',
  '\r\n',
];

const input = fc.array(
  fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.constantFrom(...FRAGMENTS).map((s) => bytes(s))),
  { maxLength: 25 },
);

describe('Quectel simulator robustness', () => {
  it('random input never throws and the modem still answers AT after a resync', async () => {
    const rejections: unknown[] = [];
    let runs = 0;
    const onRejection = (e: unknown): void => {
      rejections.push(e);
    };
    process.on('unhandledRejection', onRejection);
    try {
      await fc.assert(
        fc.asyncProperty(input, fc.integer({ min: 1, max: 1000 }), async (pieces, seed) => {
          runs++;
          const rig = await makeRig({ seed });
          await rig.boot();
          for (const p of pieces) {
            rig.send(p);
            await rig.run(3);
          }
          await rig.run(200_000);
          // Resync: end a variable data phase, fill a counted one, end the line, let commands finish.
          rig.send('\x1b');
          rig.send('\r'.repeat(1500));
          await rig.run(200_000);
          if (!rig.sim.ready) {
            rig.sim.powerOn();
            await rig.run(60_000);
          }
          rig.take();
          rig.send('AT\r');
          await rig.run(1000);
          const answer = rig.take();
          assert.match(answer, /(\r\nOK\r\n|0\r)$/, JSON.stringify(answer));
          assert.equal(rig.sim.port.stats.handlerErrors, 0);
          await rig.close();
        }),
        { numRuns: 40 },
      );
    } finally {
      process.off('unhandledRejection', onRejection);
    }
    assert.deepEqual(rejections, []);
    assert.equal(runs, 40);
  });
});
