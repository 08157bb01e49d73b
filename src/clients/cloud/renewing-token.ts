/**
 * A token that renews itself before it expires: the password function of the presets
 * whose credentials expire (Azure SAS, JWT). The MQTT client calls the password before
 * every connect and reconnect; the token is reused while it is fresh and replaced once
 * less than `renewBeforeMs` of its lifetime remain, so a new connection never starts
 * with a token that is about to run out.
 */
import type { WallClock } from './wall-clock.ts';

/** One issued token and when it stops being accepted (ms since the epoch). */
export interface IssuedToken {
  /** The token text. */
  readonly token: string;
  /** When it expires, ms since the epoch. */
  readonly expiresAtMs: number;
}

export interface RenewingToken {
  /** The password function for `MqttClientOptions.password`. */
  readonly password: () => string;
  /** The token `password()` would give now (issuing a new one if it is due), with its expiry. */
  readonly current: () => IssuedToken;
}

/**
 * Caches what `issue(nowMs)` returns and calls it again when fewer than `renewBeforeMs`
 * remain before `expiresAtMs` (or when the clock went backwards past the issue time).
 */
export function renewingToken(issue: (nowMs: number) => IssuedToken, renewBeforeMs: number, now: WallClock): RenewingToken {
  let cached: (IssuedToken & { readonly issuedAtMs: number }) | undefined;
  const current = (): IssuedToken => {
    const t = now();
    if (cached === undefined || t >= cached.expiresAtMs - renewBeforeMs || t < cached.issuedAtMs) {
      const fresh = issue(t);
      cached = { token: fresh.token, expiresAtMs: fresh.expiresAtMs, issuedAtMs: t };
    }
    return { token: cached.token, expiresAtMs: cached.expiresAtMs };
  };
  return { password: () => current().token, current };
}

/** Checks a token lifetime and renewal margin (whole seconds) and returns them in ms. */
export function lifetimeMs(
  lifetimeSeconds: number,
  renewBeforeSeconds: number,
  maxLifetimeSeconds: number,
): { readonly lifetimeMs: number; readonly renewBeforeMs: number } {
  if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds < 1 || lifetimeSeconds > maxLifetimeSeconds) {
    throw new RangeError(`token lifetime must be a whole number of seconds from 1 to ${maxLifetimeSeconds}, got ${lifetimeSeconds}`);
  }
  if (!Number.isInteger(renewBeforeSeconds) || renewBeforeSeconds < 0 || renewBeforeSeconds >= lifetimeSeconds) {
    throw new RangeError(
      `renewBeforeSeconds must be a whole number of seconds from 0 to less than the lifetime (${lifetimeSeconds}), got ${renewBeforeSeconds}`,
    );
  }
  return { lifetimeMs: lifetimeSeconds * 1000, renewBeforeMs: renewBeforeSeconds * 1000 };
}
