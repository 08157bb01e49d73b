/**
 * Data frames for the simulated 802.15.4 medium's tests: node n has the extended address
 * 02:00:00:00:00:00:00:n (and short address n in the tests) on one PAN.
 */
import { buildMacFrame, MAC_BROADCAST, macFrame } from '../../src/wire/ieee802154.ts';

export const RADIO_PAN = 0xabcd;

/** The extended address of test node `n`. */
export const radioExt = (n: number): Uint8Array => new Uint8Array([0x02, 0, 0, 0, 0, 0, 0, n]);

/** A data frame from node `from` to node `to` (extended addresses, AR set) or broadcast (0xffff, no AR), PAN ID compressed. */
export function radioData(from: number, to: number | 'broadcast', payload: number[], seq = 1): Uint8Array {
  return buildMacFrame(macFrame('data', {
    seq,
    ackRequest: to !== 'broadcast',
    panIdCompression: true,
    dst: { pan: RADIO_PAN, addr: to === 'broadcast' ? { mode: 'short', value: MAC_BROADCAST } : { mode: 'extended', value: radioExt(to) } },
    src: { pan: RADIO_PAN, addr: { mode: 'extended', value: radioExt(from) } },
    payload: new Uint8Array(payload),
  }));
}
