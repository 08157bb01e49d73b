/**
 * Follows the MQTT packets of one client-to-broker byte stream (plain MQTT, after the gateway
 * terminated TLS) and reports each PUBLISH (topic, payload), so the gateway sees which connection,
 * and so which interface of a device, a message arrived through, whatever the broker is.
 *
 * Only reads: the bytes still go to the broker untouched. A packet larger than `maxPacketBytes`
 * or a malformed length stops the tap (the broker deals with the stream); nothing throws.
 */
const PUBLISH = 3;
const utf8 = new TextDecoder('utf-8', { fatal: false });

/** A PUBLISH seen in the stream. */
export interface TappedPublish {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly qos: number;
  readonly dup: boolean;
}

/** Follows one client-to-broker stream: `push` every chunk, PUBLISH packets come out through the callback. */
export class MqttPublishTap {
  readonly #onPublish: (p: TappedPublish) => void;
  readonly #max: number;
  #buf = new Uint8Array(0);
  #stopped = false;

  constructor(onPublish: (p: TappedPublish) => void, maxPacketBytes = 64 * 1024) {
    this.#onPublish = onPublish;
    this.#max = maxPacketBytes;
  }

  /** False once the tap gave up on the stream. */
  get following(): boolean {
    return !this.#stopped;
  }

  push(chunk: Uint8Array): void {
    if (this.#stopped) return;
    const b = new Uint8Array(this.#buf.length + chunk.length);
    b.set(this.#buf);
    b.set(chunk, this.#buf.length);
    let off = 0;
    for (;;) {
      const h = header(b, off);
      if (h === 'more') break;
      if (h === 'bad' || h.total > this.#max) {
        this.#stopped = true;
        this.#buf = new Uint8Array(0);
        return;
      }
      if (b.length - off < h.total) break;
      if (h.type === PUBLISH) this.#publish(b[off] as number, b.subarray(off + h.headerLen, off + h.total));
      off += h.total;
    }
    this.#buf = b.slice(off);
  }

  #publish(first: number, body: Uint8Array): void {
    const qos = (first >> 1) & 3;
    if (body.length < 2) return;
    const topicLen = ((body[0] as number) << 8) | (body[1] as number);
    const p = 2 + topicLen + (qos > 0 ? 2 : 0);
    if (p > body.length) return;
    const topic = utf8.decode(body.subarray(2, 2 + topicLen));
    // MQTT 5 properties are not used by the demo's clients (3.1.1); a v5 stream would show them in the payload.
    this.#onPublish({ topic, payload: body.slice(p), qos, dup: (first & 8) !== 0 });
  }
}

/** The fixed header at `off`: packet type, its length and the whole packet's. */
function header(b: Uint8Array, off: number): { type: number; headerLen: number; total: number } | 'more' | 'bad' {
  if (b.length - off < 2) return 'more';
  let len = 0;
  let mul = 1;
  for (let i = 1; i <= 4; i++) {
    if (off + i >= b.length) return 'more';
    const x = b[off + i] as number;
    len += (x & 0x7f) * mul;
    if ((x & 0x80) === 0) return { type: (b[off] as number) >> 4, headerLen: 1 + i, total: 1 + i + len };
    mul *= 128;
  }
  return 'bad';
}
