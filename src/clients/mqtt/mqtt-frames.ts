/**
 * `watchFrames`: follows the MQTT fixed headers in the bytes a broker sends, beside
 * mqtt.js's parser, for what that parser does not catch:
 *
 * - a packet announced larger than the client accepts (mqtt-packet buffers a packet
 *   until all of its remaining length has arrived: a broker announcing 200 MB would be
 *   buffered up to the keep-alive, or for ever at a trickle). It is refused at its
 *   header, as an `MqttError` `'protocol'`;
 * - the end of the stream (FIN) in the middle of a packet, which mqtt.js treats as a
 *   plain close: `'protocol'`, naming the packet and how much of it came;
 * - the end of the stream before any CONNACK: `'closed'`.
 *
 * It only reads the fixed headers (type nibble, remaining length) and skips the bodies;
 * the bytes still go to mqtt.js untouched. A remaining length over four bytes is left
 * to mqtt-packet, which reports it ('Invalid variable byte integer'); tracking stops there.
 */
import type { Duplex } from 'node:stream';
import { MqttError } from './mqtt-error.ts';

const NAMES = ['reserved (type 0)', 'CONNECT', 'CONNACK', 'PUBLISH', 'PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP', 'SUBSCRIBE', 'SUBACK', 'UNSUBSCRIBE', 'UNSUBACK', 'PINGREQ', 'PINGRESP', 'DISCONNECT', 'AUTH'];
const CONNACK = 2;

/** The framing state of one stream from the broker. */
export class MqttFrameTracker {
  readonly #max: number;
  #state: 'header' | 'length' | 'body' | 'lost' = 'header';
  #type = 0;
  #length = 0;
  #mul = 1;
  #lengthBytes = 0;
  /** Body bytes still to come. */
  #remaining = 0;
  #connack = false;

  /** `maxPacketBytes`: the largest whole packet (fixed header included) accepted. */
  constructor(maxPacketBytes: number) {
    this.#max = maxPacketBytes;
  }

  /** True once a whole CONNACK went by. */
  get sawConnack(): boolean {
    return this.#connack;
  }

  /** Follows `chunk`; returns the error when a packet over the limit is announced (tracking stops then). */
  feed(chunk: Uint8Array): MqttError | undefined {
    let i = 0;
    while (i < chunk.length) {
      switch (this.#state) {
        case 'lost':
          return undefined;
        case 'body': {
          const k = Math.min(this.#remaining, chunk.length - i);
          i += k;
          this.#remaining -= k;
          if (this.#remaining === 0) this.#packetDone();
          break;
        }
        case 'header':
          this.#type = (chunk[i++] as number) >> 4;
          this.#length = 0;
          this.#mul = 1;
          this.#lengthBytes = 0;
          this.#state = 'length';
          break;
        case 'length': {
          const b = chunk[i++] as number;
          this.#length += (b & 0x7f) * this.#mul;
          this.#mul *= 128;
          this.#lengthBytes++;
          if ((b & 0x80) !== 0) {
            if (this.#lengthBytes === 4) this.#state = 'lost'; // mqtt-packet reports it
            break;
          }
          const total = 1 + this.#lengthBytes + this.#length;
          if (total > this.#max) {
            this.#state = 'lost';
            return new MqttError(
              `the broker announced a ${this.#name} packet of ${total} bytes (remaining length ${this.#length}), over the limit of ${this.#max} bytes (maxPacketBytes)`,
              'protocol',
              { reasonCode: 0x95 },
            );
          }
          this.#remaining = this.#length;
          if (this.#remaining === 0) this.#packetDone();
          else this.#state = 'body';
          break;
        }
      }
    }
    return undefined;
  }

  /** At the end of the stream: what was cut short, or the lack of a CONNACK; undefined if nothing. */
  ended(): MqttError | undefined {
    if (this.#state === 'lost') return undefined;
    if (this.#state === 'length') {
      return new MqttError(`the broker closed the connection in the middle of a ${this.#name} packet (its fixed header incomplete)`, 'protocol', { reasonCode: 0x81 });
    }
    if (this.#state === 'body') {
      const total = 1 + this.#lengthBytes + this.#length;
      return new MqttError(
        `the broker closed the connection in the middle of a ${this.#name} packet (${total - this.#remaining} of ${total} bytes)`,
        'protocol',
        { reasonCode: 0x81 },
      );
    }
    if (!this.#connack) return new MqttError('the broker closed the connection before CONNACK', 'closed');
    return undefined;
  }

  get #name(): string {
    return NAMES[this.#type] ?? `type ${this.#type}`;
  }

  #packetDone(): void {
    if (this.#type === CONNACK) this.#connack = true;
    this.#state = 'header';
  }
}

/**
 * Follows the frames of `stream` (a `'data'` listener beside mqtt.js's pipe, attached
 * before it, so an oversized packet is refused before the parser sees its header) and
 * calls `report` with the errors above.
 */
export function watchFrames(stream: Duplex, maxPacketBytes: number, report: (e: MqttError) => void): void {
  const frames = new MqttFrameTracker(maxPacketBytes);
  const onData = (chunk: Uint8Array): void => {
    const e = frames.feed(chunk);
    if (e !== undefined) {
      stream.off('data', onData);
      report(e);
    }
  };
  stream.on('data', onData);
  stream.once('end', () => {
    const e = frames.ended();
    if (e !== undefined) report(e);
  });
}
