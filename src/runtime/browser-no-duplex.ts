/**
 * The browser bundle's stand-in for src/socket/duplex.ts (scripts/build-browser.mjs substitutes
 * it): `SocketDuplex` extends `node:stream`'s `Duplex`, which a page does not have. `Network`
 * and `TcpSocket` import it for `connectDuplex()` and `toDuplex()`; in the bundle those throw
 * `SocketError('ENOTSUP')`, and every other call works as in Node. Nothing in Node imports this.
 */
import { SocketError } from '../base/socket-error.ts';

/** Throws: there are no `node:stream` Duplexes in a browser. */
export class SocketDuplex {
  constructor() {
    throw new SocketError('ENOTSUP', { op: 'toDuplex', reason: 'browser' }, { message: 'node:stream Duplex adapters are not available in the browser bundle' });
  }
}
