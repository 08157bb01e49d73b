/**
 * Command coverage of the Quectel simulator: identity, echo, CMEE verbosity, SIM states,
 * registration read forms and URCs, CFUN, PDP context commands, parsing edge cases, variants.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeRig, type Rig } from './quectel-rig.ts';

async function booted(options: Parameters<typeof makeRig>[0] = {}): Promise<Rig> {
  const rig = await makeRig(options);
  await rig.boot();
  await rig.at('ATE0');
  return rig;
}

describe('Quectel simulator commands', () => {
  it('identity: ATI, GMR, CGMM, CGSN/GSN, CGMI', async () => {
    const rig = await booted();
    assert.equal(await rig.at('ATI'), '\r\nQuectel\r\nBG96\r\nRevision: BG96MAR02A07M1G\r\n\r\nOK\r\n');
    assert.equal(await rig.at('AT+GMR'), '\r\nBG96MAR02A07M1G\r\n\r\nOK\r\n');
    assert.equal(await rig.at('AT+CGMM'), '\r\nBG96\r\n\r\nOK\r\n');
    assert.equal(await rig.at('AT+CGSN'), '\r\n866425030123456\r\n\r\nOK\r\n');
    assert.equal(await rig.at('AT+GSN'), '\r\n866425030123456\r\n\r\nOK\r\n');
    assert.equal(await rig.at('AT+CGMI'), '\r\nQuectel\r\n\r\nOK\r\n');
    assert.equal(await rig.at('at+cgmm'), '\r\nBG96\r\n\r\nOK\r\n', 'lower-case prefix and name accepted');
    await rig.close();
  });

  it('EC21 and BG95 boot with APP RDY and identify themselves', async () => {
    for (const model of ['EC21', 'BG95'] as const) {
      const rig = await makeRig({ sim: { model } });
      const boot = await rig.boot();
      assert.ok(boot.startsWith('\r\nAPP RDY\r\n\r\n+CFUN: 1\r\n'), boot);
      assert.match(await rig.at('AT+CGMM'), new RegExp(model === 'EC21' ? 'EC21' : 'BG95-M3'));
      await rig.close();
    }
  });

  it('unknown commands, syntax errors and lines without AT', async () => {
    const rig = await booted();
    assert.equal(await rig.at('AT+NOPE'), '\r\nERROR\r\n');
    assert.equal(await rig.at('AT+CMEE=7'), '\r\nERROR\r\n');
    assert.equal(await rig.at('AT$$'), '\r\nERROR\r\n');
    rig.send('hello\r');
    await rig.run(100);
    assert.equal(rig.take(), '', 'a line without AT is ignored');
    assert.equal(await rig.at('AT+CMEE=2;+CMEE?'), '\r\n+CMEE: 2\r\n\r\nOK\r\n', 'extended commands joined by ;');
    assert.equal(await rig.at('ATE0V1'), '\r\nOK\r\n', 'basic commands concatenated');
    rig.send('ATD*99***1#\r');
    assert.equal(await rig.expect('NO CARRIER\r\n'), '\r\nNO CARRIER\r\n', 'no data session configured');
    rig.send('AT+CGDATA="PPP",1\r');
    assert.equal(await rig.expect('NO CARRIER\r\n'), '\r\nNO CARRIER\r\n');
    assert.ok(rig.sim.stats.ignoredLines >= 1);
    assert.ok(rig.sim.stats.unknownCommands >= 1);
    await rig.close();
  });

  it('a line arriving while a command runs is answered ERROR', async () => {
    const rig = await booted();
    rig.send('AT+QIACT=1\r');
    await rig.run(10);
    rig.send('AT\r');
    await rig.run(1);
    assert.equal(rig.take(), '\r\nERROR\r\n');
    await rig.until(() => rig.peek().includes('OK'));
    assert.equal(rig.take(), '\r\nOK\r\n');
    assert.equal(rig.sim.port.stats.busyLines, 1);
    await rig.close();
  });

  it('CMEE 0/1/2 and SIM busy just after boot', async () => {
    const rig = await makeRig();
    rig.sim.powerOn();
    await rig.until(() => rig.peek().includes('+CFUN: 1'));
    rig.take();
    assert.equal(await rig.at('AT+CPIN?'), 'AT+CPIN?\r\r\n+CME ERROR: 14\r\n');
    assert.equal(await rig.at('AT+CMEE=2'), 'AT+CMEE=2\r\r\nOK\r\n');
    assert.equal(await rig.at('AT+CPIN?'), 'AT+CPIN?\r\r\n+CME ERROR: SIM busy\r\n');
    assert.equal(await rig.at('AT+CMEE=0'), 'AT+CMEE=0\r\r\nOK\r\n');
    assert.equal(await rig.at('AT+CPIN?'), 'AT+CPIN?\r\r\nERROR\r\n');
    await rig.close();
  });

  it('SIM PIN, wrong PIN, PUK; no SIM', async () => {
    const rig = await makeRig({ sim: { sim: { pin: '1234', puk: '87654321' } } });
    rig.sim.powerOn();
    await rig.until(() => rig.peek().includes('+CPIN: SIM PIN'));
    rig.take();
    await rig.at('ATE0');
    assert.equal(await rig.at('AT+CPIN?'), '\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n');
    assert.equal(await rig.at('AT+QIACT=1'), '\r\nERROR\r\n');
    assert.equal(await rig.at('AT+CGATT=1'), '\r\n+CME ERROR: 11\r\n');
    for (let i = 0; i < 3; i++) assert.equal(await rig.at('AT+CPIN="0000"'), '\r\n+CME ERROR: 16\r\n');
    assert.equal(await rig.at('AT+CPIN?'), '\r\n+CPIN: SIM PUK\r\n\r\nOK\r\n');
    rig.send('AT+CPIN="87654321","4321"\r');
    assert.equal(await rig.expect('PB DONE\r\n'), '\r\nOK\r\n\r\n+CPIN: READY\r\n\r\n+QIND: SMS DONE\r\n\r\n+QIND: PB DONE\r\n');
    await rig.until(() => rig.sim.net.registered);
    await rig.close();

    const none = await makeRig({ sim: { sim: { present: false } } });
    const boot = await none.boot().catch(() => none.take());
    assert.ok(!boot.includes('+CPIN'), boot);
    await none.at('ATE0');
    assert.equal(await none.at('AT+CPIN?'), '\r\n+CME ERROR: 10\r\n');
    assert.equal(await none.at('AT+CSQ'), '\r\n+CSQ: 99,99\r\n\r\nOK\r\n');
    await none.close();
  });

  it('registration: read form has <n> first, URCs do not; n=2 adds tac/ci/AcT', async () => {
    const rig = await booted({ sim: { registration: { tac: 0x1234, ci: 0xabcdef, act: 8 } } });
    assert.equal(await rig.at('AT+CEREG?'), '\r\n+CEREG: 0,1\r\n\r\nOK\r\n');
    assert.equal(await rig.at('AT+CEREG=2'), '\r\nOK\r\n');
    assert.equal(await rig.at('AT+CEREG?'), '\r\n+CEREG: 2,1,"1234","ABCDEF",8\r\n\r\nOK\r\n');
    assert.equal(await rig.at('AT+CREG=1'), '\r\nOK\r\n');
    assert.equal(await rig.at('AT+CGREG=1'), '\r\nOK\r\n');
    assert.equal(await rig.at('AT+CGREG=?'), '\r\n+CGREG: (0-2)\r\n\r\nOK\r\n');
    rig.sim.loseRegistration(3);
    await rig.run(1);
    assert.equal(rig.take(), '\r\n+CREG: 3\r\n\r\n+CGREG: 3\r\n\r\n+CEREG: 3\r\n');
    assert.equal(await rig.at('AT+CSQ'), '\r\n+CSQ: 99,99\r\n\r\nOK\r\n');
    assert.equal(await rig.at('AT+COPS?'), '\r\n+COPS: 0\r\n\r\nOK\r\n');
    rig.sim.restoreRegistration();
    await rig.run(1);
    assert.equal(rig.take(), '\r\n+CREG: 2\r\n\r\n+CGREG: 2\r\n\r\n+CEREG: 2\r\n');
    await rig.run(rig.sim.net.regDelayMs);
    assert.equal(rig.take(), '\r\n+CREG: 1\r\n\r\n+CGREG: 1\r\n\r\n+CEREG: 1,"1234","ABCDEF",8\r\n');
    assert.equal(await rig.at('AT+COPS?'), '\r\n+COPS: 0,0,"IOTNET SIM",8\r\n\r\nOK\r\n');
    rig.sim.loseRegistration(4);
    await rig.run(1);
    assert.match(rig.take(), /\+CEREG: 4\r\n$/);
    await rig.close();
  });

  it('CFUN: 0/4 deregister and drop contexts, 1 registers again, 1,1 reboots', async () => {
    const rig = await booted();
    await rig.at('AT+CEREG=1');
    assert.equal(await rig.at('AT+QIACT=1'), '\r\nOK\r\n');
    assert.equal(await rig.at('AT+CFUN?'), '\r\n+CFUN: 1\r\n\r\nOK\r\n');
    assert.equal(await rig.at('AT+CFUN=4'), '\r\n+CEREG: 0\r\n\r\nOK\r\n');
    assert.equal(await rig.at('AT+QIACT?'), '\r\nOK\r\n');
    assert.equal(await rig.at('AT+CFUN=1'), '\r\n+CEREG: 2\r\n\r\nOK\r\n');
    await rig.expect('+CEREG: 1\r\n');
    rig.send('AT+CFUN=1,1\r');
    assert.equal(await rig.expect('PB DONE\r\n'), '\r\nOK\r\n\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\n+QIND: SMS DONE\r\n\r\n+QIND: PB DONE\r\n');
    assert.equal(await rig.at('AT'), 'AT\r\r\nOK\r\n', 'echo is on again after the reboot');
    assert.equal(rig.sim.stats.boots, 2);
    await rig.close();
  });

  it('PDP: CGDCONT, QICSGP, CGACT, CGPADDR, CGATT, CGEREP', async () => {
    const rig = await booted({ sim: { pdpAddress: '10.0.0.1', apn: { name: 'iot.apn' } } });
    assert.equal(await rig.at('AT+QICSGP=1'), '\r\n+QICSGP: 1,"iot.apn","","",0\r\n\r\nOK\r\n');
    assert.equal(await rig.at('AT+CGDCONT=2,"IPV4V6","other"'), '\r\nOK\r\n');
    assert.equal(
      await rig.at('AT+CGDCONT?'),
      '\r\n+CGDCONT: 1,"IP","iot.apn","0.0.0.0",0,0\r\n+CGDCONT: 2,"IPV4V6","other","0.0.0.0",0,0\r\n\r\nOK\r\n',
    );
    assert.equal(await rig.at('AT+QICSGP=2,1,"apn2","user","pw",2'), '\r\nOK\r\n');
    assert.equal(await rig.at('AT+QICSGP=2'), '\r\n+QICSGP: 1,"apn2","user","pw",2\r\n\r\nOK\r\n');
    assert.equal(await rig.at('AT+CGACT=1,1'), '\r\nOK\r\n');
    assert.equal(await rig.at('AT+CGACT?'), '\r\n+CGACT: 1,1\r\n+CGACT: 2,0\r\n\r\nOK\r\n');
    assert.equal(await rig.at('AT+CGPADDR=1'), '\r\n+CGPADDR: 1,"10.0.0.1"\r\n\r\nOK\r\n');
    assert.equal(await rig.at('AT+QIACT?'), '\r\n+QIACT: 1,1,1,"10.0.0.1"\r\n\r\nOK\r\n');
    assert.equal(await rig.at('AT+QIACT=1'), '\r\nERROR\r\n', 'already active');
    assert.equal(await rig.at('AT+QIGETERROR'), '\r\n+QIGETERROR: 561,open PDP context failed\r\n\r\nOK\r\n');
    assert.equal(await rig.at('AT+CGATT?'), '\r\n+CGATT: 1\r\n\r\nOK\r\n');
    assert.equal(await rig.at('AT+CGEREP=2,1'), '\r\nOK\r\n');
    assert.equal(await rig.at('AT+CGEREP?'), '\r\n+CGEREP: 2,1\r\n\r\nOK\r\n');
    rig.sim.deactivatePdp(1);
    await rig.run(1);
    assert.equal(rig.take(), '\r\n+QIURC: "pdpdeact",1\r\n\r\n+CGEV: NW PDN DEACT 1\r\n');
    assert.equal(await rig.at('AT+QIDEACT=1'), '\r\nOK\r\n');
    assert.equal(await rig.at('AT+QIACT=1'), '\r\nOK\r\n');
    assert.equal(await rig.at('AT+CGATT=0'), '\r\nOK\r\n');
    assert.equal(await rig.at('AT+QIACT?'), '\r\nOK\r\n');
    await rig.close();
  });

  it('QIACT fails without registration; QPOWD powers down', async () => {
    const rig = await booted();
    rig.sim.loseRegistration(2);
    assert.equal(await rig.at('AT+QIACT=1'), '\r\nERROR\r\n');
    assert.equal(await rig.at('AT+CGATT=1'), '\r\n+CME ERROR: 30\r\n');
    assert.equal(await rig.at('AT+CESQ'), '\r\n+CESQ: 99,99,255,255,255,255\r\n\r\nOK\r\n');
    rig.send('AT+QPOWD=1\r');
    assert.equal(await rig.expect('POWERED DOWN\r\n'), '\r\nOK\r\n\r\nPOWERED DOWN\r\n');
    rig.send('AT\r');
    await rig.run(1000);
    assert.equal(rig.take(), '', 'deaf once powered down');
    assert.equal(rig.sim.ready, false);
    rig.sim.powerOn();
    await rig.expect('RDY');
    await rig.close();
  });

  it('AT+IPR answers OK at the old rate, then the line runs at the new one', async () => {
    const rig = await booted({ pipe: { baudRate: 115200 } });
    assert.equal(await rig.at('AT+IPR?'), '\r\n+IPR: 115200\r\n\r\nOK\r\n');
    assert.equal(await rig.at('AT+IPR=9600'), '\r\nOK\r\n');
    await rig.run(100);
    assert.equal(rig.sim.port.baudRate, 9600);
    await rig.host.setBaudRate(9600);
    assert.equal(await rig.at('AT+IPR?'), '\r\n+IPR: 9600\r\n\r\nOK\r\n');
    assert.equal(await rig.at('AT+IPR=1234'), '\r\nERROR\r\n');
    await rig.close();
  });
});
