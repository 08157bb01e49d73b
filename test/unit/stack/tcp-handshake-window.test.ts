/**
 * Minimal reproductions of TCP defects found by the 1,000,000-frame robustness run
 * (test/sim/stack-robustness-1m.test.ts), kept as regression tests: the active opener's
 * advertised window once counted from RCV.NXT = 0 before the IRS was known, and the
 * SYN-ACK's window was scaled (RFC 7323 2.2 says it never is).
 *
 * Both drive one `Tcb` by hand (segments as `TcpRepr`s, explicit time), as an active
 * opener with the default configuration (256 KiB receive buffer, so it offers window
 * scale 3).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Tcb, type TcpSegmentOut } from '../../../src/stack/tcp/tcb.ts';
import { TcpFlag, type TcpOptions, type TcpRepr } from '../../../src/wire/tcp.ts';
import { seqAdd } from '../../../src/wire/tcp-seq.ts';

const ISS = 1000;

function seg(o: { seq: number; ack: number; flags: number; window: number; options?: TcpOptions; payloadLength?: number }): TcpRepr {
  return { srcPort: 80, dstPort: 50000, urgent: 0, options: o.options ?? {}, payloadLength: o.payloadLength ?? 0, ...o };
}

/** Output of one `output` call. */
function out(tcb: Tcb, now: number): TcpSegmentOut[] {
  const list: TcpSegmentOut[] = [];
  tcb.output(now, (s) => {
    list.push(s);
    return true;
  });
  return list;
}

/** An active open completed by a SYN-ACK from `irs` with `window` (and window scale 7); returns our SYN and the TCB. */
function established(irs: number, window = 65535): { tcb: Tcb; syn: TcpSegmentOut } {
  const tcb = new Tcb();
  tcb.connect(0, ISS);
  const [syn] = out(tcb, 0);
  assert.ok(syn !== undefined && (syn.flags & TcpFlag.SYN) !== 0);
  tcb.input(1, seg({ seq: irs, ack: ISS + 1, flags: TcpFlag.SYN | TcpFlag.ACK, window, options: { mss: 1460, windowScale: 7, sackPermitted: true } }), new Uint8Array(0));
  assert.equal(tcb.state, 'ESTABLISHED');
  return { tcb, syn };
}

describe('TCP robustness: reproductions (regressions)', () => {
  it('an active opener never advertises more window than its receive buffer, whatever the IRS', () => {
    for (const irs of [0x1000_0000, 0x9000_0000, 0xf000_0000]) {
      const { tcb, syn } = established(irs);
      const [ack] = out(tcb, 1);
      assert.ok(ack !== undefined, 'the handshake ACK');
      const shift = syn.options.windowScale ?? 0;
      const advertised = ack.window << shift;
      assert.ok(advertised <= tcb.cfg.recvBufferBytes, `IRS 0x${irs.toString(16)}: advertised ${advertised} > buffer ${tcb.cfg.recvBufferBytes}`);
      // The consequence an attacker can use: a FIN beyond the buffer (but inside the bogus
      // window) is accepted, and the stream ends there once real data fills the gap.
      tcb.input(2, seg({ seq: seqAdd(irs, 1 + tcb.cfg.recvBufferBytes + 1000), ack: ISS + 1, flags: TcpFlag.FIN | TcpFlag.ACK, window: 1000 }), new Uint8Array(0));
      assert.equal(tcb.peerClosed, false, `IRS 0x${irs.toString(16)}: a FIN ${tcb.cfg.recvBufferBytes + 1000} bytes beyond RCV.NXT was accepted`);
    }
  });

  it('the window in a SYN-ACK is not scaled (RFC 7323 2.2): the active opener sends no more than it allows', () => {
    const { tcb } = established(0x1000_0000, 1000);
    tcb.send(new Uint8Array(8000));
    const sent = out(tcb, 2).reduce((n, s) => n + s.payloadLength, 0);
    assert.ok(sent <= 1000, `sent ${sent} bytes into a 1,000-byte window`);
  });
});
