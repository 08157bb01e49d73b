// The AT engine's data mode against the Quectel simulator over a seeded, chunking byte pipe: the
// pieces the cellular dial-up interface is built on, end to end (dial, data both ways, +++ escape,
// ATO, ATH, NO CARRIER on registration loss and DTR drop).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AtEngine, type AtDataModeHandlers } from '../../../../src/backends/at/at-engine.ts';
import type { SimDataCall } from '../../../../src/apps/sim/quectel/quectel-data-mode.ts';
import { XorShiftRng } from '../../../../src/base/rand.ts';
import { bytes, makeRig, text, type Rig } from '../../apps/sim/quectel-rig.ts';

const PAYLOAD = text(Uint8Array.from({ length: 256 }, (_, i) => i)) + '\r\nOK\r\nNO CARRIER+++\r\nRDY';

interface Client {
  rig: Rig;
  engine: AtEngine;
  calls: SimDataCall[];
  rx: string[];
  noCarriers: number;
  urcs: string[];
  handlers: AtDataModeHandlers;
}

async function client(seed: number): Promise<Client> {
  const calls: SimDataCall[] = [];
  const rig = await makeRig({
    seed,
    pipe: { chunking: { rng: new XorShiftRng(seed + 50), min: 1, max: 64 } },
    sim: {
      dataCall: (call) => {
        calls.push(call);
        call.stream.write(bytes('~hello~'));
        call.stream.onData((b) => call.stream.write(b));
        return { close: () => undefined };
      },
    },
  });
  await rig.boot();
  const engine = new AtEngine({ scheduler: rig.sched, write: (b) => rig.host.write(b), lineEnding: '\r' });
  rig.host.onData((b) => engine.receive(b));
  const c: Client = {
    rig,
    engine,
    calls,
    rx: [],
    noCarriers: 0,
    urcs: [],
    handlers: {
      onData: (b) => c.rx.push(text(b)),
      onNoCarrier: () => {
        c.noCarriers++;
        engine.leaveDataMode();
      },
    },
  };
  engine.onUrc('+CEREG:', (u) => c.urcs.push(u.line));
  await rig.resolve(engine.send('ATE0'));
  await rig.resolve(engine.send('AT+CEREG=1'));
  return c;
}

async function dial(c: Client, cmd = 'ATD*99***1#'): Promise<string> {
  const r = await c.rig.resolve(c.engine.send({ text: cmd, dataMode: c.handlers, timeoutMs: 5000 }));
  return r.final;
}

async function echoed(c: Client, data: string): Promise<void> {
  const before = c.rx.join('');
  c.rig.host.write(bytes(data));
  await c.rig.until(() => c.rx.join('').length >= before.length + data.length);
  assert.equal(c.rx.join(''), before + data);
}

describe('AtEngine data mode with the Quectel simulator', () => {
  it('dial, data both ways, +++, a command, ATO, data, +++, ATH', async () => {
    for (const seed of [1, 2, 3]) {
      const c = await client(seed);
      assert.equal(await dial(c), 'CONNECT');
      await c.rig.until(() => c.rx.join('') === '~hello~');
      await echoed(c, PAYLOAD);
      assert.equal((await c.rig.resolve(c.engine.escapeDataMode())).final, 'OK');
      assert.equal(c.rig.sim.data.state, 'command');
      const csq = await c.rig.resolve(c.engine.send('AT+CSQ'));
      assert.deepEqual(csq.lines, ['+CSQ: 20,99']);
      assert.equal(await dial(c, 'ATO'), 'CONNECT');
      await echoed(c, 'back online');
      await c.rig.resolve(c.engine.escapeDataMode());
      await c.rig.resolve(c.engine.send('ATH'));
      assert.equal(c.rig.sim.data.state, 'idle');
      assert.equal(c.noCarriers, 0);
      await c.rig.close();
    }
  });

  it('registration lost: NO CARRIER detected in the data, the URC after it read as AT; redial after it came back', async () => {
    const c = await client(4);
    assert.equal(await dial(c, 'AT+CGDATA="PPP",1'), 'CONNECT');
    await echoed(c, '~hello~x');
    c.rig.sim.loseRegistration(2);
    await c.rig.until(() => c.noCarriers === 1 && c.urcs.length > 0);
    assert.equal(c.engine.inDataMode, false);
    assert.deepEqual(c.urcs, ['+CEREG: 2']);
    c.rig.sim.restoreRegistration();
    await c.rig.until(() => c.urcs.includes('+CEREG: 1'));
    c.rx.length = 0;
    assert.equal(await dial(c), 'CONNECT');
    await c.rig.until(() => c.rx.join('') === '~hello~');
    assert.equal(c.calls.length, 2);
    await c.rig.close();
  });

  it('DTR drop with AT&D2 ends the call: NO CARRIER', async () => {
    const c = await client(5);
    await dial(c);
    await c.rig.run(100);
    await c.rig.host.setModemOutputs({ dtr: false });
    await c.rig.until(() => c.noCarriers === 1);
    await c.rig.host.setModemOutputs({ dtr: true });
    assert.equal((await c.rig.resolve(c.engine.send('AT'))).final, 'OK');
    await c.rig.close();
  });
});
