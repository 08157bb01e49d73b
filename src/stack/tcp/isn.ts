/**
 * Initial sequence numbers per RFC 6528: ISN = M + F(localip, localport, remoteip,
 * remoteport, secretkey), where M is a timer ticking every 4 microseconds and F a
 * keyed PRF (SipHash-2-4 here, keyed once per stack from its Rng). Predictable only to
 * someone who knows the secret; monotonic per connection identifier, so old duplicate
 * segments of an earlier incarnation are unlikely to fall in the new window.
 */
import type { Rng } from '../../base/rand.ts';
import { SipHash24 } from './siphash.ts';

export class IsnGenerator {
  private readonly prf: SipHash24;
  private readonly msg = new Uint8Array(36);

  constructor(rng: Rng) {
    const key = new Uint8Array(16);
    for (let i = 0; i < 16; i += 4) {
      const x = rng.nextU32();
      key[i] = x & 0xff;
      key[i + 1] = (x >>> 8) & 0xff;
      key[i + 2] = (x >>> 16) & 0xff;
      key[i + 3] = x >>> 24;
    }
    this.prf = new SipHash24(key);
  }

  /**
   * The ISN for a connection at time `nowMs` (milliseconds, monotonic). Addresses are
   * 4 or 16 bytes; ports host-order numbers.
   */
  isn(nowMs: number, localIp: Uint8Array, localPort: number, remoteIp: Uint8Array, remotePort: number): number {
    const m = this.msg;
    m.fill(0);
    m.set(localIp.subarray(0, 16), 0);
    m.set(remoteIp.subarray(0, 16), 16);
    m[32] = localPort >>> 8;
    m[33] = localPort & 0xff;
    m[34] = remotePort >>> 8;
    m[35] = remotePort & 0xff;
    const [, lo] = this.prf.hash(m);
    // M: 4 us ticks (250 per ms), modulo 2^32.
    const ticks = Math.floor(nowMs * 250) % 0x1_0000_0000;
    return (ticks + lo) >>> 0;
  }

  /**
   * The timestamp clock offset for connections between two addresses (RFC 7323 5.4: a
   * random offset per address pair, as Linux does). One pair keeps one clock, so a new
   * incarnation's timestamps are newer than the old one's (RFC 6191 relies on it);
   * other pairs cannot learn the host's uptime.
   */
  tsOffset(localIp: Uint8Array, remoteIp: Uint8Array): number {
    const m = this.msg;
    m.fill(0);
    m.set(localIp.subarray(0, 16), 0);
    m.set(remoteIp.subarray(0, 16), 16);
    const [hi] = this.prf.hash(m);
    return hi >>> 0;
  }
}
