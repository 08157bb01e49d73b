/**
 * Our PPP client against our PPP server over a real pty pair (issue 8): the client on the master
 * (our pty addon), the server on the slave through serialport, on real time. PAP and CHAP each
 * succeed with the right secret (IPCP and IPV6CP open, addresses applied, a TCP exchange works) and
 * fail with a wrong one (both sides down with auth-failed, no address applied).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { formatIPv6 } from '../../../src/base/ip-address.ts';
import { openPty, type PtyMaster } from '../../../src/runtime/pty.ts';
import { openSerialPort, type SerialByteStream } from '../../../src/runtime/serial-port.ts';
import { systemScheduler } from '../../../src/runtime/system-scheduler.ts';
import { toIpv4 } from '../../../src/stack/stack.ts';
import { concatBytes } from '../../../src/wire/bytes.ts';
import { pppNet, PPP_CLIENT_IP, PPP_SERVER_IP } from '../../support/ppp-net.ts';
import { skipWithoutPty } from '../../support/pty.ts';

const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function ptyPair(): Promise<[PtyMaster, SerialByteStream]> {
  const master = openPty();
  const slave = await openSerialPort(master.path, { baudRate: 921_600 });
  cleanups.push(() => {
    slave.close();
    master.close();
  });
  return [master, slave];
}

describe('PPP client against PPP server over a pty pair', () => {
  for (const auth of ['pap', 'chap'] as const) {
    it(`${auth.toUpperCase()} with the right secret: IPCP and IPV6CP open, addresses applied, TCP works`, { timeout: 30_000 }, async (t) => {
      if (skipWithoutPty(t, 'PPP over a pty pair')) return;
      const streams = await ptyPair();
      const n = pppNet({ scheduler: systemScheduler, streams, auth, seed: auth === 'pap' ? 31 : 32 });
      cleanups.push(() => n.close());
      await n.up;
      const a = n.client.events.find((e) => e.type === 'auth');
      assert.ok(a?.type === 'auth' && a.outcome.ok && a.outcome.protocol === auth);
      const s = n.server.events.find((e) => e.type === 'auth');
      assert.ok(s?.type === 'auth' && s.outcome.ok && s.outcome.peerName === 'iot');
      assert.equal(n.client.stack.interface(n.client.attachment.ifIndex)?.address, toIpv4(PPP_CLIENT_IP));
      assert.equal(n.server.stack.interface(n.server.attachment.ifIndex)?.address, toIpv4(PPP_SERVER_IP));
      const ll = n.client.stack.ipv6Addresses(n.client.attachment.ifIndex).map((x) => formatIPv6(x.address));
      assert.ok(ll.some((x) => x.startsWith('fe80:')), ll.join());
      const listener = await n.server.net.listen({ port: 9 });
      const served = (async () => {
        const c = await listener.accept();
        const parts: Uint8Array[] = [];
        for await (const chunk of c) parts.push(chunk.slice());
        await c.write(concatBytes(parts).reverse());
        await c.end();
      })();
      const c = await n.client.net.connect(`${PPP_SERVER_IP}:9`);
      await c.write(new Uint8Array([1, 2, 3, 4]));
      await c.end();
      const back: Uint8Array[] = [];
      for await (const chunk of c) back.push(chunk.slice());
      await served;
      assert.deepEqual(concatBytes(back), new Uint8Array([4, 3, 2, 1]));
      listener.close();
    });

    it(`${auth.toUpperCase()} with a wrong password: both sides down with auth-failed, no address`, { timeout: 60_000 }, async (t) => {
      if (skipWithoutPty(t, 'PPP over a pty pair')) return;
      const streams = await ptyPair();
      const n = pppNet({ scheduler: systemScheduler, streams, auth, password: 'wrong', seed: auth === 'pap' ? 33 : 34 });
      cleanups.push(() => n.close());
      await assert.rejects(n.up, /auth-failed/);
      // The other side goes down too (its down event may come a moment later).
      const end = Date.now() + 15_000;
      while (!n.server.events.some((e) => e.type === 'down') || !n.client.events.some((e) => e.type === 'down')) {
        assert.ok(Date.now() < end, 'both sides down');
        await new Promise((r) => setTimeout(r, 20));
      }
      for (const side of [n.client, n.server]) {
        const down = side.events.find((e) => e.type === 'down');
        assert.equal(down?.type === 'down' && down.reason, 'auth-failed');
        assert.equal(side.events.some((e) => e.type === 'ipcp-up'), false);
        assert.equal(side.stack.interface(side.attachment.ifIndex)?.address, 0);
      }
      const sAuth = n.server.events.find((e) => e.type === 'auth');
      assert.ok(sAuth?.type === 'auth' && !sAuth.outcome.ok && sAuth.outcome.reason === 'bad-credentials');
    });
  }
});
