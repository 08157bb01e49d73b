/**
 * PAP, the Password Authentication Protocol (RFC 1334 §2), in both roles.
 *
 * - `PapPeer` (we authenticate ourselves): Authenticate-Request with our peer id and password,
 *   repeated on the restart timer until an Ack or Nak comes (Max-Configure attempts).
 * - `PapAuthenticator` (we check the peer): waits for a request, looks the peer id up, answers Ack
 *   or Nak; a repeated request after the verdict gets the same answer (the first may have been
 *   lost). No request within the attempts' time is a failure.
 *
 * Both report once through `done`. Explicit `now`, the owner polls at `deadline`.
 */
import { buildCpPacket, type CpPacket } from '../../wire/ppp/ppp-packet.ts';
import { buildPapMessage, buildPapRequest, PapCode, parsePapMessage, parsePapRequest } from '../../wire/ppp/ppp-auth.ts';
import { equalBytes } from '../../wire/bytes.ts';
import { isFault } from '../../wire/fault.ts';
import { AUTH_TEXT, AuthBase, type AuthOutcome, type AuthTiming, type SecretLookup } from './ppp-auth-common.ts';

export class PapPeer extends AuthBase {
  private readonly request: Uint8Array;
  private id = 0;
  private left = 0;

  constructor(user: string, password: string, timing: AuthTiming, send: (packet: Uint8Array) => void, done: (o: AuthOutcome) => void) {
    super(timing, send, done);
    this.request = buildPapRequest(AUTH_TEXT.encode(user), AUTH_TEXT.encode(password));
  }

  start(now: number): void {
    this.left = this.timing.maxRequests;
    this.transmit(now);
  }

  private transmit(now: number): void {
    this.id = (this.id + 1) & 0xff;
    this.left--;
    this.deadline = now + this.timing.restartMs;
    this.send(buildCpPacket(PapCode.AUTHENTICATE_REQUEST, this.id, this.request));
  }

  receive(_now: number, p: CpPacket): void {
    if (this.finished || p.id !== this.id) return;
    if (p.code !== PapCode.AUTHENTICATE_ACK && p.code !== PapCode.AUTHENTICATE_NAK) return;
    this.finish(p.code === PapCode.AUTHENTICATE_ACK
      ? { ok: true, protocol: 'pap', message: parsePapMessage(p.data) }
      : { ok: false, protocol: 'pap', reason: 'rejected', message: parsePapMessage(p.data) });
  }

  poll(now: number): void {
    if (!this.due(now)) return;
    if (this.left > 0) this.transmit(now);
    else this.finish({ ok: false, protocol: 'pap', reason: 'timeout' });
  }
}

export class PapAuthenticator extends AuthBase {
  private readonly secret: SecretLookup;
  /** The verdict given, repeated for retransmitted requests. */
  private verdict: { id: number; code: number; request: Uint8Array } | undefined;

  constructor(secret: SecretLookup, timing: AuthTiming, send: (packet: Uint8Array) => void, done: (o: AuthOutcome) => void) {
    super(timing, send, done);
    this.secret = secret;
  }

  start(now: number): void {
    this.waitAll(now);
  }

  receive(_now: number, p: CpPacket): void {
    if (p.code !== PapCode.AUTHENTICATE_REQUEST) return;
    if (this.verdict !== undefined) {
      // A retransmission of the request we answered gets the same answer (RFC 1334 §2.2.1).
      if (p.id === this.verdict.id && equalBytes(p.data, this.verdict.request)) this.send(buildCpPacket(this.verdict.code, p.id, buildPapMessage(this.verdict.code === PapCode.AUTHENTICATE_ACK ? 'Login ok' : 'Login incorrect')));
      return;
    }
    const req = parsePapRequest(p.data);
    if (isFault(req)) return;
    const peerName = AUTH_TEXT.decode(req.peerId);
    const expected = this.secret(peerName);
    const ok = expected !== undefined && equalBytes(AUTH_TEXT.encode(expected), req.password);
    const code = ok ? PapCode.AUTHENTICATE_ACK : PapCode.AUTHENTICATE_NAK;
    this.verdict = { id: p.id, code, request: p.data.slice() };
    this.send(buildCpPacket(code, p.id, buildPapMessage(ok ? 'Login ok' : 'Login incorrect')));
    this.finish(ok ? { ok: true, protocol: 'pap', peerName } : { ok: false, protocol: 'pap', reason: 'bad-credentials', peerName });
  }

  poll(now: number): void {
    if (this.due(now)) this.finish({ ok: false, protocol: 'pap', reason: 'timeout' });
  }
}
