/**
 * CHAP with MD5 (RFC 1994), in both roles. The response to a challenge is
 * MD5(Identifier ‖ secret ‖ challenge value) (§4.1).
 *
 * - `ChapAuthenticator`: sends a Challenge (16 random bytes and our name), repeated on the
 *   restart timer with the same identifier and value until a Response comes (Max-Configure
 *   attempts); checks the response against the secret of the name the peer gave, answers Success
 *   or Failure, and repeats that answer for a retransmitted Response.
 * - `ChapPeer`: answers every Challenge with the response for our name and secret (a
 *   retransmitted challenge gets a fresh computation, which is the same), and repeats the Response
 *   on the restart timer until Success or Failure comes for its identifier (a lost Success would
 *   otherwise fail a good link; the authenticator repeats its verdict, §4.1). No challenge, or no
 *   verdict after the attempts, is a failure.
 *
 * Periodic re-challenges (§2) are not sent; a peer's re-challenge after Success is answered.
 */
import type { Rng } from '../../base/rand.ts';
import { equalBytes } from '../../wire/bytes.ts';
import { isFault } from '../../wire/fault.ts';
import { md5 } from '../../wire/md5.ts';
import { buildChapValue, ChapCode, parseChapValue } from '../../wire/ppp/ppp-auth.ts';
import { buildCpPacket, type CpPacket } from '../../wire/ppp/ppp-packet.ts';
import { AUTH_TEXT, AuthBase, type AuthOutcome, type AuthTiming, type SecretLookup } from './ppp-auth-common.ts';

const CHALLENGE_LEN = 16;

/** The MD5 response to `challenge` with identifier `id` (RFC 1994 §4.1). */
export function chapMd5Response(id: number, secret: Uint8Array, challenge: Uint8Array): Uint8Array {
  return md5(new Uint8Array([id & 0xff]), secret, challenge);
}

export class ChapAuthenticator extends AuthBase {
  private readonly name: Uint8Array;
  private readonly secret: SecretLookup;
  private readonly rng: Rng;
  private id: number;
  private challenge = new Uint8Array(CHALLENGE_LEN);
  private left = 0;
  private verdict: { code: number; message: string } | undefined;

  constructor(name: string, secret: SecretLookup, rng: Rng, timing: AuthTiming, send: (packet: Uint8Array) => void, done: (o: AuthOutcome) => void) {
    super(timing, send, done);
    this.name = AUTH_TEXT.encode(name);
    this.secret = secret;
    this.rng = rng;
    this.id = rng.nextU32() & 0xff;
  }

  start(now: number): void {
    for (let i = 0; i < CHALLENGE_LEN; i += 4) {
      const v = this.rng.nextU32();
      this.challenge[i] = v >>> 24;
      this.challenge[i + 1] = (v >>> 16) & 0xff;
      this.challenge[i + 2] = (v >>> 8) & 0xff;
      this.challenge[i + 3] = v & 0xff;
    }
    this.id = (this.id + 1) & 0xff;
    this.left = this.timing.maxRequests;
    this.verdict = undefined;
    this.transmit(now);
  }

  private transmit(now: number): void {
    this.left--;
    this.deadline = now + this.timing.restartMs;
    this.send(buildCpPacket(ChapCode.CHALLENGE, this.id, buildChapValue(this.challenge, this.name)));
  }

  receive(_now: number, p: CpPacket): void {
    if (p.code !== ChapCode.RESPONSE || p.id !== this.id) return;
    if (this.finished && this.verdict === undefined) return; // stopped (timed out, or the link left the phase)
    if (this.verdict !== undefined) {
      this.send(buildCpPacket(this.verdict.code, p.id, AUTH_TEXT.encode(this.verdict.message)));
      return;
    }
    const r = parseChapValue(p.data);
    if (isFault(r)) return;
    const peerName = AUTH_TEXT.decode(r.name);
    const secret = this.secret(peerName);
    const ok = secret !== undefined && equalBytes(r.value, chapMd5Response(p.id, AUTH_TEXT.encode(secret), this.challenge));
    this.verdict = ok ? { code: ChapCode.SUCCESS, message: 'Access granted' } : { code: ChapCode.FAILURE, message: 'Access denied' };
    this.send(buildCpPacket(this.verdict.code, p.id, AUTH_TEXT.encode(this.verdict.message)));
    this.finish(ok ? { ok: true, protocol: 'chap', peerName } : { ok: false, protocol: 'chap', reason: 'bad-credentials', peerName });
  }

  poll(now: number): void {
    if (!this.due(now)) return;
    if (this.left > 0) this.transmit(now);
    else this.finish({ ok: false, protocol: 'chap', reason: 'timeout' });
  }
}

export class ChapPeer extends AuthBase {
  private readonly name: Uint8Array;
  private readonly secret: Uint8Array;
  private answered = -1;
  /** Our last Response, repeated on the restart timer until a verdict comes (a lost Success must not fail the link). */
  private response: Uint8Array | undefined;
  private left = 0;

  constructor(user: string, secret: string, timing: AuthTiming, send: (packet: Uint8Array) => void, done: (o: AuthOutcome) => void) {
    super(timing, send, done);
    this.name = AUTH_TEXT.encode(user);
    this.secret = AUTH_TEXT.encode(secret);
  }

  start(now: number): void {
    this.waitAll(now);
  }

  receive(now: number, p: CpPacket): void {
    if (p.code === ChapCode.CHALLENGE) {
      const c = parseChapValue(p.data);
      if (isFault(c)) return;
      this.answered = p.id;
      this.response = buildCpPacket(ChapCode.RESPONSE, p.id, buildChapValue(chapMd5Response(p.id, this.secret, c.value), this.name));
      this.send(this.response);
      if (!this.finished) {
        this.left = this.timing.maxRequests;
        this.deadline = now + this.timing.restartMs;
      }
      return;
    }
    if ((p.code !== ChapCode.SUCCESS && p.code !== ChapCode.FAILURE) || p.id !== this.answered) return;
    const message = AUTH_TEXT.decode(p.data);
    this.finish(p.code === ChapCode.SUCCESS ? { ok: true, protocol: 'chap', message } : { ok: false, protocol: 'chap', reason: 'rejected', message });
  }

  poll(now: number): void {
    if (!this.due(now)) return;
    if (this.response !== undefined && this.left > 0) {
      // RFC 1994 §4.1: the authenticator answers a repeated Response with the same verdict.
      this.left--;
      this.deadline = now + this.timing.restartMs;
      this.send(this.response);
      return;
    }
    this.finish({ ok: false, protocol: 'chap', reason: 'timeout' });
  }
}
