/**
 * What the PAP and CHAP machines share: their contract with the PPP session, outcomes, timing
 * and the text encoding of names and secrets (UTF-8, as pppd reads them from its secrets files).
 */
import type { CpPacket } from '../../wire/ppp/ppp-packet.ts';
import type { PppAuthProtocol } from './lcp-options.ts';

/** One authentication exchange, in one role. Explicit `now`; the owner polls at `deadline`. */
export interface AuthMachine {
  readonly deadline: number | undefined;
  start(now: number): void;
  /** A packet of this protocol (parsed control-packet layout). */
  receive(now: number, packet: CpPacket): void;
  poll(now: number): void;
  /** No more reports, no more timers. */
  stop(): void;
}

/** How an exchange ended. */
export type AuthOutcome =
  | {
    /** Authenticated. */
    readonly ok: true;
    /** The protocol used. */
    readonly protocol: PppAuthProtocol;
    /** The name the peer gave (authenticator side). */
    readonly peerName?: string;
    /** The message text of the success packet. */
    readonly message?: string;
  }
  | {
    /** Not authenticated. */
    readonly ok: false;
    /** The protocol used. */
    readonly protocol: PppAuthProtocol;
    /** `rejected`: the authenticator refused us; `bad-credentials`: we refused the peer; `timeout`: no answer. */
    readonly reason: 'rejected' | 'bad-credentials' | 'timeout';
    /** The name the peer gave (authenticator side). */
    readonly peerName?: string;
    /** The message text of the failure packet. */
    readonly message?: string;
  };

/** Looks a peer's secret (PAP password, CHAP secret) up by the name it gave; undefined: unknown peer. */
export type SecretLookup = (peerName: string) => string | undefined;

export interface AuthTiming {
  /** Retransmission interval (default 3000 ms). */
  restartMs: number;
  /** Requests or challenges sent before giving up (default 10). */
  maxRequests: number;
}

export const AUTH_DEFAULT_TIMING: Readonly<AuthTiming> = { restartMs: 3000, maxRequests: 10 };

/** UTF-8 for names and secrets. */
export const AUTH_TEXT = {
  encode: (s: string): Uint8Array => new TextEncoder().encode(s),
  decode: (b: Uint8Array): string => new TextDecoder().decode(b),
} as const;

/** State every machine keeps: its timer, whether it reported, and how it reports. */
export abstract class AuthBase implements AuthMachine {
  deadline: number | undefined = undefined;
  protected finished = false;
  protected readonly timing: AuthTiming;
  protected readonly send: (packet: Uint8Array) => void;
  private readonly done: (o: AuthOutcome) => void;

  constructor(timing: AuthTiming, send: (packet: Uint8Array) => void, done: (o: AuthOutcome) => void) {
    this.timing = timing;
    this.send = send;
    this.done = done;
  }

  abstract start(now: number): void;
  abstract receive(now: number, packet: CpPacket): void;
  abstract poll(now: number): void;

  stop(): void {
    this.finished = true;
    this.deadline = undefined;
  }

  /** Waits for the other side for as long as all the attempts would take. */
  protected waitAll(now: number): void {
    this.deadline = now + this.timing.restartMs * this.timing.maxRequests;
  }

  /** True when the deadline passed with no report yet. */
  protected due(now: number): boolean {
    return !this.finished && this.deadline !== undefined && now >= this.deadline;
  }

  /** Reports once, and stops. */
  protected finish(o: AuthOutcome): void {
    if (this.finished) return;
    this.stop();
    this.done(o);
  }
}
