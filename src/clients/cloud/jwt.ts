/**
 * Compact JWS JSON Web Tokens (RFC 7519, RFC 7515) signed with RS256 (RSASSA-PKCS1-v1_5
 * with SHA-256) or ES256 (ECDSA P-256 with SHA-256), as JWT-authenticated MQTT brokers
 * (Google Cloud IoT Core style) take in the password. ES256 signatures are the raw
 * 64-byte `r || s` of RFC 7518 §3.4, not DER. Pure: claims, including times, come in.
 */
import { KeyObject, createPrivateKey, sign } from 'node:crypto';
import { encodeBase64Url } from './base64.ts';

/**
 * JWS signature algorithms: RS256 (RSASSA-PKCS1-v1_5 with SHA-256) or ES256 (ECDSA P-256 with SHA-256, raw 64-byte
 * signature).
 */
export type JwtAlgorithm = 'RS256' | 'ES256';

/** A private key: PEM text, PEM bytes, or a `KeyObject`. */
export type JwtPrivateKey = string | Uint8Array | KeyObject;

/** Registered claims the presets use, plus any others (JSON values). */
export interface JwtClaims {
  /** Issued at, seconds since the epoch. */
  readonly iat?: number;
  /** Expires at, seconds since the epoch. */
  readonly exp?: number;
  /** Audience. */
  readonly aud?: string;
  readonly [claim: string]: unknown;
}

/**
 * Loads a private key and checks it fits the algorithm (RSA for RS256, EC P-256 for
 * ES256). Throws a TypeError saying what does not fit.
 */
export function loadJwtKey(key: JwtPrivateKey, algorithm: JwtAlgorithm, passphrase?: string): KeyObject {
  if (algorithm !== 'RS256' && algorithm !== 'ES256') {
    throw new TypeError(`JWT algorithm must be RS256 or ES256, got ${JSON.stringify(algorithm)}`);
  }
  let k: KeyObject;
  if (typeof key === 'string' || key instanceof Uint8Array) {
    const pem = typeof key === 'string' ? key : new TextDecoder().decode(key);
    if (!pem.includes('-----BEGIN')) {
      throw new TypeError('the JWT private key must be PEM text (-----BEGIN ... PRIVATE KEY-----); read files before passing them');
    }
    try {
      k = createPrivateKey(passphrase === undefined ? { key: pem, format: 'pem' } : { key: pem, format: 'pem', passphrase });
    } catch (e) {
      throw new TypeError(`the JWT private key could not be read: ${(e as Error).message}`, { cause: e });
    }
  } else if (key instanceof KeyObject) {
    k = key;
  } else {
    throw new TypeError('the JWT private key must be PEM text, PEM bytes or a KeyObject');
  }
  if (k.type !== 'private') throw new TypeError(`the JWT key must be a private key, got a ${k.type} key`);
  if (algorithm === 'RS256' && k.asymmetricKeyType !== 'rsa') {
    throw new TypeError(`RS256 needs an RSA key, got ${String(k.asymmetricKeyType)}`);
  }
  if (algorithm === 'ES256' && (k.asymmetricKeyType !== 'ec' || k.asymmetricKeyDetails?.namedCurve !== 'prime256v1')) {
    throw new TypeError(`ES256 needs an EC key on P-256 (prime256v1), got ${String(k.asymmetricKeyType)} ${String(k.asymmetricKeyDetails?.namedCurve ?? '')}`.trim());
  }
  return k;
}

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** `base64url(header).base64url(claims).base64url(signature)` with header `{"alg":...,"typ":"JWT"}`. */
export function signJwt(claims: JwtClaims, key: KeyObject, algorithm: JwtAlgorithm): string {
  const header = { alg: algorithm, typ: 'JWT' };
  const signingInput = `${encodeBase64Url(utf8(JSON.stringify(header)))}.${encodeBase64Url(utf8(JSON.stringify(claims)))}`;
  const signature =
    algorithm === 'ES256'
      ? sign('sha256', utf8(signingInput), { key, dsaEncoding: 'ieee-p1363' })
      : sign('sha256', utf8(signingInput), key);
  return `${signingInput}.${encodeBase64Url(signature)}`;
}
