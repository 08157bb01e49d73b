/**
 * fast-check arbitraries of valid IEEE 802.15.4 MAC frame reprs (src/wire/ieee802154.ts) in the
 * form `parseMacFrame` returns them: every frame version, type and addressing mode, the PAN ID
 * presence rules of 2006 and 2015, auxiliary security headers, 2015 header/payload IEs with the
 * terminators a parser needs, 2003/2006 beacon fields and command ids.
 */
import fc from 'fast-check';
import {
  MAC_HT1,
  MAC_HT2,
  MAC_PAYLOAD_TERMINATION,
  macMicLength,
  macPanPresence,
  type MacAddress,
  type MacBeaconFields,
  type MacFrame,
  type MacFrameType,
  type MacFrameVersion,
  type MacHeaderIe,
  type MacPayloadIe,
  type MacSecurity,
} from '../../src/wire/ieee802154.ts';

const u16 = fc.integer({ min: 0, max: 0xffff });
const nib = fc.integer({ min: 0, max: 15 });
const ext = fc.uint8Array({ minLength: 8, maxLength: 8 });
const bytes = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max });

type Mode = 'none' | 'short' | 'extended';
const mode: fc.Arbitrary<Mode> = fc.constantFrom('none', 'short', 'extended');

function addr(m: Mode): fc.Arbitrary<MacAddress | undefined> {
  if (m === 'none') return fc.constant(undefined);
  return m === 'short' ? u16.map((value) => ({ mode: 'short' as const, value })) : ext.map((value) => ({ mode: 'extended' as const, value }));
}

function security(version: MacFrameVersion): fc.Arbitrary<MacSecurity | undefined> {
  if (version === 0) return fc.constant(undefined);
  const v2 = version === 2;
  return fc.option(
    fc
      .record({
        level: fc.integer({ min: 0, max: 7 }),
        keyIdMode: fc.constantFrom(0, 1, 2, 3) as fc.Arbitrary<0 | 1 | 2 | 3>,
        frameCounterSuppressed: v2 ? fc.boolean() : fc.constant(false),
        asnInNonce: v2 ? fc.boolean() : fc.constant(false),
        counter: fc.integer({ min: 0, max: 0xffffffff }),
        source: fc.uint8Array({ minLength: 8, maxLength: 8 }),
        keyIndex: fc.integer({ min: 0, max: 255 }),
      })
      .map(({ counter, source, keyIndex, ...s }): MacSecurity => ({
        ...s,
        frameCounter: s.frameCounterSuppressed ? undefined : counter,
        keySource: s.keyIdMode < 2 ? undefined : source.subarray(0, s.keyIdMode === 2 ? 4 : 8),
        keyIndex: s.keyIdMode === 0 ? undefined : keyIndex,
      })),
    { nil: undefined },
  );
}

const beaconFields: fc.Arbitrary<MacBeaconFields> = fc
  .record({
    superframe: fc.record({
      beaconOrder: nib,
      superframeOrder: nib,
      finalCapSlot: nib,
      batteryLifeExtension: fc.boolean(),
      panCoordinator: fc.boolean(),
      associationPermit: fc.boolean(),
    }).map((sf) => ({ ...sf })),
    gtsPermit: fc.boolean(),
    gtsDirections: fc.integer({ min: 0, max: 0x7f }),
    gts: fc.array(fc.record({ shortAddr: u16, startSlot: nib, length: nib }).map((g) => ({ ...g })), { maxLength: 7 }),
    pendingShort: fc.array(u16, { maxLength: 7 }),
    pendingExtended: fc.array(ext, { maxLength: 7 }),
  })
  .map((b) => ({ ...b, gtsDirections: b.gts.length > 0 ? b.gtsDirections : 0 }));

// Element ids and groups reserved in 2015 (0x40-0x7d; groups 0xa-0xe): a dissector has no
// structure to expect in their contents.
const headerIe = fc.record({ id: fc.integer({ min: 0x40, max: 0x7d }), content: bytes(12) }).map((ie) => ({ ...ie }));
const payloadIe = fc.record({ groupId: fc.integer({ min: 0xa, max: 0xe }), content: bytes(12) }).map((ie) => ({ ...ie }));

/** What follows the addressing fields, for a version, type and security. */
function body(
  version: MacFrameVersion,
  type: MacFrameType,
  sec: MacSecurity | undefined,
): fc.Arbitrary<Pick<MacFrame, 'headerIes' | 'payloadIes' | 'beacon' | 'commandId' | 'payload'>> {
  return fc
    .record({
      ies: version === 2 ? fc.option(fc.array(headerIe, { maxLength: 3 }), { nil: undefined }) : fc.constant(undefined),
      term: fc.constantFrom<number | undefined>(MAC_HT1, MAC_HT2, undefined),
      // HT1 announces payload IEs: at least one besides the termination (Wireshark warns otherwise).
      pies: fc.array(payloadIe, { minLength: 1, maxLength: 3 }),
      pterm: fc.boolean(),
      beacon: beaconFields,
      commandId: fc.integer({ min: 0, max: 255 }),
      payload: bytes(24),
    })
    .map((r) => {
      let headerIes: MacHeaderIe[] | undefined = r.ies;
      let payloadIes: MacPayloadIe[] | undefined;
      const beacon = type === 'beacon' && version < 2 ? r.beacon : undefined;
      const commandId = type === 'command' && !(sec !== undefined && version === 2) ? r.commandId : undefined;
      const mic = sec === undefined ? 0 : macMicLength(sec.level) + (type === 'command' && version === 2 ? 1 : 0);
      let payload = r.payload.length >= mic ? r.payload : new Uint8Array(mic);
      const follows = beacon !== undefined || commandId !== undefined || payload.length > 0;
      // An unterminated list runs to the end of the frame: terminate it when anything follows.
      const term = r.term ?? (follows ? MAC_HT2 : undefined);
      if (headerIes !== undefined && term !== undefined) headerIes = [...headerIes, { id: term, content: new Uint8Array(0) }];
      if (headerIes?.length === 0) headerIes = undefined; // IE Present needs an IE
      if (headerIes !== undefined && term === MAC_HT1 && sec === undefined) {
        payloadIes = r.pterm || follows ? [...r.pies, { groupId: MAC_PAYLOAD_TERMINATION, content: new Uint8Array(0) }] : r.pies;
      }
      if (headerIes !== undefined && term === undefined) payload = new Uint8Array(0);
      return { headerIes, payloadIes, beacon, commandId, payload };
    });
}

/** A valid `MacFrame` as `parseMacFrame` returns it. */
export const macFrameArb: fc.Arbitrary<MacFrame> = fc
  .record({
    version: fc.constantFrom<MacFrameVersion>(0, 1, 2),
    type: fc.constantFrom<MacFrameType>('beacon', 'data', 'ack', 'command'),
    dstMode: mode,
    srcMode: mode,
    panc: fc.boolean(),
  })
  .chain(({ version, type, dstMode, srcMode, panc }) => {
    const panIdCompression = version < 2 && (dstMode === 'none' || srcMode === 'none') ? false : panc;
    const pans = macPanPresence(version, dstMode, srcMode, panIdCompression);
    if (pans === undefined) throw new Error('unreachable: compression only with both addresses before 2015');
    return fc
      .record({
        framePending: fc.boolean(),
        ackRequest: fc.boolean(),
        seq: version === 2 ? fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }) : fc.integer({ min: 0, max: 255 }),
        dstPan: pans.dstPan ? u16 : fc.constant(undefined),
        srcPan: pans.srcPan ? u16 : fc.constant(undefined),
        dstAddr: addr(dstMode),
        srcAddr: addr(srcMode),
        security: security(version),
      })
      .chain((h) =>
        body(version, type, h.security).map(
          (b): MacFrame => ({
            type,
            version,
            framePending: h.framePending,
            ackRequest: h.ackRequest,
            panIdCompression,
            seq: h.seq,
            dst: { pan: h.dstPan, addr: h.dstAddr },
            src: { pan: h.srcPan ?? (pans.srcPanIsDstPan ? h.dstPan : undefined), addr: h.srcAddr },
            security: h.security,
            ...b,
          }),
        ),
      );
  });
