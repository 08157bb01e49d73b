/**
 * ICMP echo between the userspace stack (over a TAP) and the Linux kernel, both ways,
 * small and 8000-byte (fragmented both ways: the TAP's MTU is 1500).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PingResult } from '../../src/stack/stack.ts';
import { Peers, run, sh, skipWithoutInterop, tapHost, type TapHost } from '../support/interop.ts';
import { skipWithoutTool } from '../support/system-tool.ts';

function stackPing(h: TapHost, dst: string, size: number): Promise<PingResult> {
  return new Promise((resolve, reject) => {
    const r = h.stack.ping(h.runner.now(), dst, { size, timeoutMs: 2000 }, resolve);
    if (r < 0) reject(new Error(`ping refused: ${r}`));
  });
}

describe('ICMP echo with the Linux kernel over TAP', () => {
  let h: TapHost | undefined;
  const peers = new Peers();
  before(() => {
    if (process.env.IOTNET_NETNS !== undefined && process.getuid?.() === 0) h = tapHost({ subnet: 1 });
  });
  after(async () => {
    await peers.killAll();
    await h?.close();
  });

  for (const size of [56, 8000]) {
    it(`the kernel pings the stack (${size} bytes)`, async (t) => {
      if (skipWithoutInterop(t) || h === undefined || skipWithoutTool(t, 'ping', 'iputils-ping', 'the kernel pinging the stack')) return;
      const { code, out } = await run('ping', ['-c', '3', '-i', '0.2', '-W', '2', '-s', String(size), h.stackIp]);
      assert.equal(code, 0, out);
      assert.match(out, /3 packets transmitted, 3 received/, out);
      assert.match(out, new RegExp(`${size + 8} bytes from ${h.stackIp.replace(/\./g, '\\.')}`), out);
    });

    it(`the stack pings the kernel (${size} bytes)`, async (t) => {
      if (skipWithoutInterop(t) || h === undefined) return;
      for (let i = 0; i < 3; i++) {
        const r = await stackPing(h, h.kernelIp, size);
        assert.equal(r.code, 0, `ping ${i}: ${JSON.stringify(r)}`);
        assert.equal(r.bytes, size);
        assert.equal(r.dataMatches, true);
      }
      if (size > 1472) assert.ok(h.stack.stats.ip.fragmentsIn > 0 && h.stack.stats.ip.reassembled > 0, 'the reply came in fragments and was reassembled');
    });
  }
});

describe('TAP link lifetime', () => {
  it('an interface deleted under the link ends reception (EBADFD) without a busy loop; close() still works', async (t) => {
    if (skipWithoutInterop(t)) return;
    const h = tapHost({ subnet: 30, capture: false });
    try {
      const ping = await run('ping', ['-c', '1', '-W', '2', h.stackIp]);
      assert.equal(ping.code, 0, ping.out);
      sh('ip', ['link', 'del', h.name]);
      const before = h.runner.polls;
      await new Promise((r) => setTimeout(r, 500));
      const polls = h.runner.polls - before;
      t.diagnostic(`polls in the 500 ms after the deletion: ${polls}; read failure errno ${h.tap.failure}`);
      assert.ok(polls < 50, `the runner kept polling: ${polls} polls`);
      assert.equal(h.tap.failure, 77, 'EBADFD');
      assert.equal(h.tap.transmit(h.runner.now(), new Uint8Array(60)), false, 'writes fail and are counted');
      assert.ok(h.tap.stats().txErrors >= 1);
    } finally {
      await h.close();
    }
    assert.equal(h.tap.closed, true);
  });
});
