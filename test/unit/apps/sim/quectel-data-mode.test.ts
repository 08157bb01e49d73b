/**
 * Data mode of the Quectel simulator (reference §2 dial-up, §5 item 14, §6 item 16): dial by `ATD`
 * and `AT+CGDATA`, data both ways byte-exact through seeded chunking, `+++` with and without the
 * S12 guard times, `ATO`, `ATH`, DTR with `AT&D`, registration and context loss, refusals.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SimDataCall, SimDataCallHandler } from '../../../../src/apps/sim/quectel/quectel-data-mode.ts';
import { parseGprsDial } from '../../../../src/apps/sim/quectel/quectel-data-commands.ts';
import { XorShiftRng } from '../../../../src/base/rand.ts';
import { bytes, makeRig, text, type Rig, type RigOptions } from './quectel-rig.ts';

/** Every byte value, then AT framing the modem must not interpret in data mode. */
const PAYLOAD = text(Uint8Array.from({ length: 256 }, (_, i) => i)) + '\r\nOK\r\nAT\r+++\r\nNO CARRIER\r\nATH\r~}~';

interface Sessions {
  calls: SimDataCall[];
  closed: number;
  /** Host bytes each session got, latin1. */
  got: string[];
  handler: SimDataCallHandler;
}

/** Echo sessions (optionally greeting first), recording calls and what they got. */
function echo(greeting?: string): Sessions {
  const s: Sessions = {
    calls: [],
    closed: 0,
    got: [],
    handler: (call) => {
      const k = s.calls.length;
      s.calls.push(call);
      s.got.push('');
      if (greeting !== undefined) call.stream.write(bytes(greeting));
      call.stream.onData((b) => {
        s.got[k] += text(b);
        call.stream.write(b);
      });
      return {
        close: () => {
          s.closed++;
        },
      };
    },
  };
  return s;
}

async function booted(s: Sessions | undefined, options: RigOptions = {}, seed = 1): Promise<Rig> {
  const rig = await makeRig({
    seed,
    pipe: { chunking: { rng: new XorShiftRng(seed + 100), min: 1, max: 64 } },
    ...options,
    sim: { dataCall: s?.handler, ...options.sim },
  });
  await rig.boot();
  await rig.at('ATE0');
  return rig;
}

async function dial(rig: Rig, cmd = 'ATD*99***1#', connect = 'CONNECT'): Promise<void> {
  rig.send(`${cmd}\r`);
  assert.equal(await rig.expect(`${connect}\r\n`), `\r\n${connect}\r\n`);
}

/** `+++` with the guard time before and after; returns what came back. */
async function escape(rig: Rig, guardMs = 1000): Promise<string> {
  await rig.run(guardMs + 50);
  rig.send('+++');
  await rig.run(guardMs + 50);
  return rig.take();
}

describe('Quectel simulator data mode', () => {
  it('ATD*99***1#: CONNECT, then every byte both ways is data, whatever the chunking', async () => {
    for (const seed of [1, 2, 3, 4]) {
      const s = echo();
      const rig = await booted(s, {}, seed);
      await dial(rig);
      assert.equal(rig.sim.data.state, 'online');
      assert.equal(s.calls[0]?.cid, 1);
      assert.equal(s.calls[0]?.apn, '');
      assert.equal(s.calls[0]?.command, 'D*99***1#');
      rig.send(PAYLOAD);
      await rig.until(() => rig.peek().length >= PAYLOAD.length);
      await rig.run(50);
      assert.equal(rig.take(), PAYLOAD, `seed ${seed}`);
      assert.equal(s.got[0], PAYLOAD);
      const st = rig.sim.stats.data;
      assert.equal(st.calls, 1);
      assert.equal(st.bytesFromHost, PAYLOAD.length);
      assert.equal(st.bytesToHost, PAYLOAD.length);
      assert.equal(rig.sim.stats.port.lines, 2, 'ATE0 and ATD only: no AT parsing in data mode');
      await rig.close();
    }
  });

  it('bytes the session writes at once follow CONNECT in the same stream', async () => {
    const s = echo('~\x7d\x23hello~');
    const rig = await booted(s, { sim: { connectText: 'CONNECT 150000000' } }, 7);
    rig.send('ATD*99#\r');
    await rig.until(() => rig.peek().endsWith('hello~'));
    assert.equal(rig.take(), '\r\nCONNECT 150000000\r\n~\x7d\x23hello~');
    await rig.close();
  });

  it('AT+CGDATA="PPP",<cid> on a context defined by AT+CGDCONT; ATV0 CONNECT is 1', async () => {
    const s = echo();
    const rig = await booted(s);
    assert.equal(await rig.at('AT+CGDCONT=2,"IP","iot.example"'), '\r\nOK\r\n');
    assert.equal(await rig.at('AT+CGDATA=?'), '\r\n+CGDATA: ("PPP")\r\n\r\nOK\r\n');
    await dial(rig, 'AT+CGDATA="PPP",2');
    assert.equal(s.calls[0]?.cid, 2);
    assert.equal(s.calls[0]?.apn, 'iot.example');
    assert.equal(s.calls[0]?.pdpType, 'IP');
    assert.equal(await escape(rig), '\r\nOK\r\n');
    assert.equal(await rig.at('AT+CGACT?'), '\r\n+CGACT: 1,0\r\n+CGACT: 2,1\r\n\r\nOK\r\n', 'the call holds its context');
    assert.equal(await rig.at('ATH'), '\r\nOK\r\n');
    assert.equal(await rig.at('AT+CGACT?'), '\r\n+CGACT: 1,0\r\n+CGACT: 2,0\r\n\r\nOK\r\n');
    rig.send('ATV0\r');
    await rig.until(() => rig.peek() === '0\r');
    rig.take();
    rig.send('ATD*99***2#\r');
    await rig.until(() => rig.peek() === '1\r');
    rig.take();
    rig.send('xyz');
    await rig.until(() => rig.peek() === 'xyz');
    await rig.close();
  });

  it('+++ with the guard times: OK, commands, session output dropped, ATO back, ATH ends the call', async () => {
    const s = echo();
    const rig = await booted(s);
    await dial(rig);
    assert.equal(await escape(rig), '\r\nOK\r\n');
    assert.equal(rig.sim.data.state, 'command');
    assert.equal(await rig.at('AT+CSQ'), '\r\n+CSQ: 20,99\r\n\r\nOK\r\n');
    s.calls[0]?.stream.write(bytes('lost'));
    await rig.run(10);
    assert.equal(rig.take(), '');
    assert.equal(rig.sim.stats.data.droppedToHost, 4);
    rig.send('ATO\r');
    assert.equal(await rig.expect('CONNECT\r\n'), '\r\nCONNECT\r\n');
    rig.send('again');
    await rig.until(() => rig.peek() === 'again');
    assert.equal(rig.take(), 'again');
    assert.equal(await escape(rig), '\r\nOK\r\n');
    assert.equal(await rig.at('ATH0'), '\r\nOK\r\n');
    assert.equal(s.closed, 1);
    assert.equal(s.calls[0]?.stream.closed, true);
    assert.equal(rig.sim.data.state, 'idle');
    rig.send('ATO\r');
    assert.equal(await rig.expect('NO CARRIER\r\n'), '\r\nNO CARRIER\r\n', 'ATO without a call');
    assert.equal(await rig.at('ATH'), '\r\nOK\r\n', 'ATH without a call');
    const st = rig.sim.stats.data;
    assert.deepEqual([st.calls, st.escapes, st.resumes, st.hangups], [1, 2, 1, 1]);
    await rig.close();
  });

  it('+++ without the guard times is data; ATS12 changes the guard', async () => {
    const s = echo();
    const rig = await booted(s);
    assert.equal(await rig.at('ATS12?'), '\r\n050\r\n\r\nOK\r\n');
    await dial(rig);
    await rig.run(1100);
    rig.send('+++x');
    await rig.run(1100);
    assert.equal(rig.take(), '+++x', 'followed by data at once');
    await rig.run(500);
    rig.send('a+++');
    await rig.run(1100);
    assert.equal(rig.take(), 'a+++', 'no silence before');
    rig.send('+++');
    await rig.run(300);
    rig.send('b');
    await rig.run(1100);
    assert.equal(rig.take(), '+++b', 'silence before, data 300 ms after');
    assert.equal(rig.sim.data.state, 'online');
    assert.equal(await escape(rig), '\r\nOK\r\n');
    assert.equal(await rig.at('ATS12=5'), '\r\nOK\r\n');
    assert.equal(await rig.at('ATS12?'), '\r\n005\r\n\r\nOK\r\n');
    rig.send('ATO\r');
    await rig.expect('CONNECT\r\n');
    assert.equal(await escape(rig, 100), '\r\nOK\r\n', 'a 100 ms guard');
    assert.equal(s.got[0], '+++xa++++++b');
    await rig.close();
  });

  it('registration lost while online: NO CARRIER, session closed, then the registration URCs', async () => {
    const s = echo();
    const rig = await booted(s);
    assert.equal(await rig.at('AT+CEREG=1'), '\r\nOK\r\n');
    await dial(rig);
    rig.sim.loseRegistration(2);
    await rig.run(10);
    assert.equal(rig.take(), '\r\nNO CARRIER\r\n\r\n+CEREG: 2\r\n');
    assert.equal(s.closed, 1);
    assert.equal(rig.sim.data.state, 'idle');
    assert.equal(await rig.at('AT'), '\r\nOK\r\n');
    rig.send('ATD*99***1#\r');
    assert.equal(await rig.expect('NO CARRIER\r\n'), '\r\nNO CARRIER\r\n', 'not registered: NO CARRIER');
    assert.equal(await rig.at('AT+CGDATA="PPP",1'), '\r\n+CME ERROR: 30\r\n');
    rig.sim.restoreRegistration();
    await rig.until(() => rig.sim.net.registered);
    await rig.run(10);
    rig.take();
    await dial(rig);
    assert.equal(s.calls.length, 2);
    await rig.close();
  });

  it('the network deactivates the context: NO CARRIER, then +QIURC: "pdpdeact"', async () => {
    const s = echo();
    const rig = await booted(s);
    await dial(rig);
    rig.sim.deactivatePdp(1);
    await rig.run(10);
    assert.equal(rig.take(), '\r\nNO CARRIER\r\n\r\n+QIURC: "pdpdeact",1\r\n');
    assert.equal(s.closed, 1);
    await rig.close();
  });

  it('the host deactivates the context or the radio in command state: OK, then NO CARRIER', async () => {
    const s = echo();
    const rig = await booted(s);
    await dial(rig);
    await escape(rig);
    rig.send('AT+CFUN=4\r');
    await rig.until(() => rig.peek().includes('NO CARRIER'));
    await rig.run(10);
    assert.equal(rig.take(), '\r\nOK\r\n\r\nNO CARRIER\r\n');
    assert.equal(s.closed, 1);
    await rig.close();
  });

  it('the session ends the call (hangUp or closing its stream): NO CARRIER', async () => {
    const s = echo();
    const rig = await booted(s);
    await dial(rig);
    s.calls[0]?.hangUp();
    await rig.run(10);
    assert.equal(rig.take(), '\r\nNO CARRIER\r\n');
    assert.equal(s.closed, 1, 'close() is called whoever ended the call');
    await dial(rig);
    s.calls[1]?.stream.close();
    await rig.run(10);
    assert.equal(rig.take(), '\r\nNO CARRIER\r\n');
    assert.equal(await rig.at('AT'), '\r\nOK\r\n');
    await rig.close();
  });

  it('DTR drop: AT&D2 hangs up (NO CARRIER), AT&D1 goes to command state (OK), AT&D0 ignores it', async () => {
    const s = echo();
    const rig = await booted(s);
    await dial(rig);
    await rig.run(100);
    await rig.host.setModemOutputs({ dtr: false });
    await rig.run(100);
    assert.equal(rig.take(), '\r\nNO CARRIER\r\n');
    assert.equal(s.closed, 1);
    await rig.host.setModemOutputs({ dtr: true });
    assert.equal(await rig.at('AT&D1'), '\r\nOK\r\n');
    await dial(rig);
    await rig.run(100);
    await rig.host.setModemOutputs({ dtr: false });
    await rig.run(100);
    assert.equal(rig.take(), '\r\nOK\r\n');
    assert.equal(rig.sim.data.state, 'command');
    await rig.host.setModemOutputs({ dtr: true });
    assert.equal(await rig.at('ATH'), '\r\nOK\r\n');
    assert.equal(await rig.at('AT&D0'), '\r\nOK\r\n');
    await dial(rig);
    await rig.run(100);
    await rig.host.setModemOutputs({ dtr: false });
    await rig.run(100);
    rig.send('still data');
    await rig.run(100);
    assert.equal(rig.take(), 'still data');
    assert.equal(rig.sim.stats.data.dtrDrops, 3);
    rig.send('AT&D3\r');
    await rig.run(100);
    assert.equal(rig.take(), 'AT&D3\r', 'still online: a command line is data');
    await rig.close();
  });

  it('refusals: bad dial strings and cids, undefined contexts, a second call, no session', async () => {
    const refuse: SimDataCallHandler = () => undefined;
    const rig = await booted({ calls: [], closed: 0, got: [], handler: refuse });
    assert.equal(await rig.at('ATD*99***17#'), '\r\nERROR\r\n');
    assert.equal(await rig.at('ATD12345'), '\r\nERROR\r\n', 'no voice or CSD');
    assert.equal(await rig.at('ATD*99**X25*1#'), '\r\nERROR\r\n');
    assert.equal(await rig.at('AT+CGDATA="PPP",17'), '\r\nERROR\r\n');
    assert.equal(await rig.at('AT+CGDATA="M-PPP",1'), '\r\n+CME ERROR: 4\r\n');
    assert.equal(await rig.at('AT+CGDATA="PPP",3'), '\r\n+CME ERROR: 3\r\n', 'context 3 not defined');
    rig.send('ATD*99***3#\r');
    assert.equal(await rig.expect('NO CARRIER\r\n'), '\r\nNO CARRIER\r\n');
    rig.send('ATD*99***1#\r');
    assert.equal(await rig.expect('NO CARRIER\r\n'), '\r\nNO CARRIER\r\n', 'the session refused');
    assert.equal(rig.sim.stats.data.refused, 3);
    await rig.close();

    const s = echo();
    const rig2 = await booted(s);
    await dial(rig2);
    await escape(rig2);
    assert.equal(await rig2.at('ATD*99***1#'), '\r\nERROR\r\n', 'a call is up');
    assert.equal(await rig2.at('AT+CGDATA="PPP",1'), '\r\n+CME ERROR: 3\r\n');
    await rig2.close();
  });

  it('dial strings', () => {
    assert.deepEqual(parseGprsDial('*99#'), { cid: 1 });
    assert.deepEqual(parseGprsDial('*99***1#'), { cid: 1 });
    assert.deepEqual(parseGprsDial('T*99***5#'), { cid: 5 });
    assert.deepEqual(parseGprsDial('*99**PPP*2#'), { cid: 2 });
    assert.deepEqual(parseGprsDial('*99*#'), { cid: 1 });
    assert.equal(parseGprsDial('*99***0#'), undefined);
    assert.equal(parseGprsDial('*99***1'), undefined);
    assert.equal(parseGprsDial('*98#'), undefined);
    assert.equal(parseGprsDial(''), undefined);
  });

  it('serial faults leave data-mode bytes alone; onlineCorrupt / onlineDrop damage them', async () => {
    const s = echo();
    const rig = await booted(s, {}, 5);
    await dial(rig);
    for (const kind of ['garbage', 'corrupt', 'split', 'merge', 'urcBetweenCommands', 'urcStorm', 'urcAfterIpd', 'dropUrc']) {
      rig.sim.faults.update(kind, { probability: 1 });
    }
    rig.send(PAYLOAD);
    await rig.until(() => rig.peek().length >= PAYLOAD.length);
    await rig.run(100);
    assert.equal(rig.take(), PAYLOAD);
    rig.sim.faults.clear();
    rig.sim.faults.arm('onlineCorrupt');
    rig.send('abcdef');
    await rig.run(100);
    const got = rig.take();
    assert.equal(got.length, 6);
    assert.notEqual(got, 'abcdef');
    rig.sim.faults.arm('onlineDrop');
    rig.send('gone');
    await rig.run(100);
    assert.equal(rig.take(), '');
    await rig.close();
  });

  it('URCs are held while online and written after the OK of +++', async () => {
    const s = echo();
    const rig = await booted(s);
    await dial(rig);
    rig.sim.injectUrc('+QIND: "csq",20,99');
    await rig.run(10);
    assert.equal(rig.take(), '');
    assert.equal(await escape(rig), '\r\nOK\r\n\r\n+QIND: "csq",20,99\r\n');
    assert.equal(rig.sim.stats.data.heldUrcs, 1);
    await rig.close();
  });

  it('a reboot during a call drops it silently; the session is closed', async () => {
    for (const model of ['BG96', 'EC21', 'BG95'] as const) {
      const s = echo();
      const rig = await booted(s, { sim: { model } });
      await dial(rig);
      rig.sim.reboot();
      await rig.until(() => rig.peek().includes('RDY'));
      assert.ok(!rig.peek().includes('NO CARRIER'), rig.peek());
      assert.equal(s.closed, 1);
      assert.equal(rig.sim.data.state, 'idle');
      await rig.close();
    }
  });
});
