/**
 * `ByteFaultInjector` for the transmit side whose corruption bursts end with the write they started
 * in (for a PPP or SLIP link: with the frame). `ByteFaultInjector` counts a burst in bytes, not in
 * time, so a burst that starts near the end of the last frame before a quiet spell goes on
 * corrupting the next frames, however late they come: on an idle line a 256-byte burst wiped out
 * four TCP ACKs sent over several seconds (the retransmission timer backed off beyond the suite's
 * 5 s receive timeout) and all three retries of a small UDP echo 2 s apart. Real line noise is in
 * time: at serial rates a 256-byte burst lasts milliseconds. Until the injector models that
 * (reported), this ends the burst after each write; each direction gets its own injector (one per
 * side of the line), so their bursts do not mix either.
 */
import type { Rng } from '../../src/base/rand.ts';
import { ByteFaultInjector, type ByteFaultSettings } from '../../src/link/byte-fault-injector.ts';
import type { ByteStream } from '../../src/link/byte-stream.ts';

export class WriteBoundedNoise extends ByteFaultInjector {
  /** Bytes written through it (the share corrupted is `stats.corrupted / written`). */
  written = 0;

  constructor(inner: ByteStream, rng: Rng, settings: Omit<ByteFaultSettings, 'direction'>) {
    super(inner, rng, { ...settings, direction: 'tx' });
    if (!('burstLeft' in this)) throw new Error('ByteFaultInjector has no burstLeft any more: revisit WriteBoundedNoise');
  }

  override write(bytes: Uint8Array): boolean {
    this.written += bytes.length;
    const ok = super.write(bytes);
    (this as unknown as { burstLeft: number }).burstLeft = 0;
    return ok;
  }
}
