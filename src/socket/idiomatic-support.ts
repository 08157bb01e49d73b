/**
 * Internal helpers shared by the idiomatic API (`Network`, `TcpSocket`, `TcpServer`,
 * `UdpSocket`): error construction from core codes, the EAGAIN wait step on top of
 * `Readiness`, call-order queues that honour deadlines and `AbortSignal`s, and
 * random ephemeral ports. Not part of the public API.
 */
import { CORE_EOF, type CoreSocket } from '../backends/contract.ts';
import { iotCodeName, iotCodeValue } from '../base/iot-constants.ts';
import type { Rng } from '../base/rand.ts';
import { randomInt } from '../base/rand.ts';
import { SocketError } from '../base/socket-error.ts';
import type { IotCode } from '../base/iot-constants.ts';
import type { Scheduler } from '../base/time.ts';
import type { Readiness } from './readiness.ts';

/** What every idiomatic socket object knows about its surroundings. */
export interface SocketContext {
  /** Backend name for `SocketError.detail.backend`. */
  readonly backend: string;
  readonly scheduler: Scheduler;
  /** Called once when the object is closed or destroyed (the `Network` stops tracking it). */
  readonly untrack: () => void;
}

/** Where an operation happened, for error details. */
export interface OpWhere {
  readonly op: string;
  readonly backend: string;
  readonly address?: string | undefined;
}

/** A `SocketError` for a negative core code (`CORE_EOF` never reaches here). */
export function codeError(code: number, where: OpWhere, reason?: string, cause?: unknown): SocketError {
  const name: IotCode = code === CORE_EOF ? 'ECONNRESET' : iotCodeName(code);
  return socketError(name, where, reason, cause);
}

/**
 * The error for a failure code `code` a core socket returned: with the backend's own error
 * (`core.lastFailure()`, same code) as cause and its reason, else as `codeError`.
 */
export function coreError(core: CoreSocket, code: number, where: OpWhere, reason?: string): SocketError {
  const f = core.lastFailure?.();
  if (f !== undefined && code !== CORE_EOF && iotCodeValue(f.code) === code) return socketError(f.code, where, reason ?? f.detail.reason, f);
  return codeError(code, where, reason);
}

/** A `SocketError` with the given code name and context. */
export function socketError(code: IotCode, where: OpWhere, reason?: string, cause?: unknown): SocketError {
  const detail: { op: string; backend: string; address?: string; reason?: string } = {
    op: where.op,
    backend: where.backend,
  };
  if (where.address !== undefined) detail.address = where.address;
  if (reason !== undefined) detail.reason = reason;
  return new SocketError(code, detail, cause !== undefined ? { cause } : undefined);
}

/**
 * What calls on a socket destroyed with `error` reject with: `error` itself when it is a
 * `SocketError`, else `SocketError('ECONNABORTED', reason 'destroyed')` with it as cause.
 */
export function destroyedError(where: OpWhere, error: Error | undefined): SocketError {
  return error instanceof SocketError ? error : socketError('ECONNABORTED', where, 'destroyed', error);
}

/** The standard `timeoutMs` expiry error of the idiomatic API. */
export function timeoutError(where: OpWhere): SocketError {
  return socketError('ETIMEDOUT', where, 'timeout');
}

/** The reason an aborted signal carries (an `AbortError` `DOMException` when none was given). */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/**
 * One EAGAIN step: waits for the next change of the core socket; throws on timeout
 * (`ETIMEDOUT`), abort (the signal's reason) or close (`closedError()`).
 */
export async function waitChange(
  readiness: Readiness,
  deadline: number | undefined,
  signal: AbortSignal | undefined,
  where: OpWhere,
  closedError: () => Error,
): Promise<void> {
  const outcome = await readiness.wait(deadline, signal);
  switch (outcome) {
    case 'changed':
      return;
    case 'timeout':
      throw timeoutError(where);
    case 'aborted':
      throw abortReason(signal as AbortSignal);
    case 'closed':
      throw closedError();
  }
}

/**
 * Waits for `promise` but gives up at `deadline` (absolute, on `scheduler`'s clock) or
 * when `signal` aborts. The abandoned promise keeps running (its result is ignored).
 */
export function raceDeadline<T>(
  promise: Promise<T>,
  scheduler: Scheduler,
  deadline: number | undefined,
  signal: AbortSignal | undefined,
  where: OpWhere,
): Promise<T> {
  if (deadline === undefined && signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    let cancelTimer: (() => void) | undefined;
    const onAbort = (): void => {
      cleanup();
      reject(abortReason(signal as AbortSignal));
    };
    const cleanup = (): void => {
      cancelTimer?.();
      signal?.removeEventListener('abort', onAbort);
    };
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    if (deadline !== undefined) {
      const delay = deadline - scheduler.now();
      if (delay <= 0) {
        cleanup();
        reject(timeoutError(where));
        return;
      }
      cancelTimer = scheduler.setTimer(delay, () => {
        cleanup();
        reject(timeoutError(where));
      });
    }
    promise.then(
      (v) => {
        cleanup();
        resolve(v);
      },
      (e: unknown) => {
        cleanup();
        reject(e);
      },
    );
  });
}

/**
 * Runs tasks one at a time in call order. A task still waiting for its turn may give
 * up (deadline, abort) without disturbing the order of the others.
 */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();
  private active = 0;

  /** Tasks queued or running. */
  get size(): number {
    return this.active;
  }

  /**
   * Runs `task` after every earlier task settled. `gate` may wrap the wait for the turn
   * (to race it against a deadline or signal); if the gate rejects, the task is skipped.
   */
  run<T>(task: () => Promise<T>, gate?: (turn: Promise<void>) => Promise<void>): Promise<T> {
    const prev = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => {
      release = r;
    });
    this.active++;
    const done = (): void => {
      this.active--;
      release();
    };
    if (this.active === 1) {
      // Fast path: nothing queued or running, so it is this task's turn at once
      // (no gate, no extra async frame on the hot read/write path).
      let p: Promise<T>;
      try {
        p = task();
      } catch (e) {
        done();
        return Promise.reject(e);
      }
      p.then(done, done);
      return p;
    }
    return (async () => {
      try {
        await (gate !== undefined ? gate(prev) : prev);
      } catch (e) {
        void prev.then(done);
        throw e;
      }
      try {
        return await task();
      } finally {
        done();
      }
    })();
  }

  /** Resolves once every task queued so far has settled. */
  idle(): Promise<void> {
    return this.tail;
  }
}

/** IANA dynamic port range (RFC 6335), used when the caller asks for port 0. */
export const EPHEMERAL_LOW = 49152;
export const EPHEMERAL_HIGH = 65535;

/** A random port from the dynamic range. */
export function randomEphemeralPort(rng: Rng): number {
  return randomInt(rng, EPHEMERAL_LOW, EPHEMERAL_HIGH);
}

/** Ensures a `timeoutMs` option is a non-negative finite number (0 or undefined = none). */
export function checkTimeout(timeoutMs: number | undefined, where: OpWhere): void {
  if (timeoutMs === undefined) return;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0) {
    throw socketError('EINVAL', where, 'bad-timeout');
  }
}

const encoder = new TextEncoder();

/** Bytes of a `write`/`send` argument (strings as UTF-8). */
export function toBytes(data: Uint8Array | string, where: OpWhere): Uint8Array {
  if (typeof data === 'string') return encoder.encode(data);
  if (data instanceof Uint8Array) return data;
  throw socketError('EINVAL', where, 'bad-data');
}

/**
 * Closes a core socket once and stops tracking it: the shared `close()` body of the
 * idiomatic socket objects (pending waits settle as closed first).
 */
export async function closeCore(core: { close(): unknown }, readiness: Readiness, ctx: SocketContext): Promise<void> {
  readiness.closeAll();
  try {
    await core.close();
  } catch {
    // Nothing left to release.
  }
  ctx.untrack();
}

/**
 * Yields `next()` results until the object is closed: an `ESOCK` rejection after
 * `closed()` turned true ends the iteration quietly; other errors propagate.
 */
export async function* untilClosed<T>(next: () => Promise<T>, closed: () => boolean): AsyncGenerator<T, void, undefined> {
  for (;;) {
    let value: T;
    try {
      value = await next();
    } catch (e) {
      if (closed() && e instanceof SocketError && e.code === 'ESOCK') return;
      throw e;
    }
    yield value;
  }
}
