/**
 * Work-around for a lost-wake-up in serialport's Unix poller (@serialport/bindings-cpp 13.0.0,
 * src/poller.cpp): `Poller::poll(events)` records the interest in `this->events` but calls
 * `uv_poll_start(handle, events, ...)` with the new flags only, so a reader re-arming 'readable'
 * while a write waits for 'writable' (EAGAIN) replaces the writable interest. The write then stays
 * stuck, `drain` never comes, until a byte arrives from the other side (the readable event re-arms
 * 'writable'). A PPP server on a pty slave sending bulk data to a client that only ACKs stalls
 * for seconds this way (the link's backlog fills and drops everything meanwhile).
 *
 * The fix here: every `poll()` from JS also asks for the events somebody is still waiting for (the
 * poller is an EventEmitter; waiters are `once` listeners). Idempotent. Belongs in
 * src/runtime/serial-port.ts (reported); kept in test/support until it is there.
 */
import type { SerialByteStream } from '../../src/runtime/serial-port.ts';

const UV_READABLE = 1;
const UV_WRITABLE = 2;

interface PollerLike {
  poll(flags?: number): void;
  listenerCount(event: string): number;
  iotnetPatched?: boolean;
}

/** Patches the poller behind an open serial stream; false when its internals are not as expected. */
export function fixSerialPoller(stream: SerialByteStream): boolean {
  const port = (stream as unknown as { port?: { port?: { poller?: PollerLike } } }).port;
  const poller = port?.port?.poller;
  if (poller === undefined || typeof poller.poll !== 'function' || typeof poller.listenerCount !== 'function') return false;
  if (poller.iotnetPatched === true) return true;
  const poll = poller.poll.bind(poller);
  poller.poll = (flags = 0): void => {
    const waiting = (poller.listenerCount('readable') > 0 ? UV_READABLE : 0) | (poller.listenerCount('writable') > 0 ? UV_WRITABLE : 0);
    poll(flags | waiting);
  };
  poller.iotnetPatched = true;
  return true;
}
