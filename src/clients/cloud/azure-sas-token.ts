/**
 * Azure IoT Hub shared access signature (SAS) tokens, as the IoT Hub access-control
 * documentation defines them:
 *
 *   SharedAccessSignature sr={URL-encoded resourceURI}&sig={signature}&se={expiry}[&skn={policyName}]
 *
 * where `signature` is base64(HMAC-SHA256(key, `{URL-encoded resourceURI}\n{expiry}`)),
 * URL-encoded, the key is the base64-decoded device or policy key, and `expiry` is in
 * seconds since the Unix epoch. `skn` is present only for hub policy keys. Pure: time
 * comes in as `expiry`.
 */
import { createHmac } from 'node:crypto';
import { checkSharedAccessKey } from './azure-connection-string.ts';

/** Input of `azureSasToken`: the resource URI, key, expiry and optional policy name. */
export interface AzureSasTokenInput {
  /** Resource URI without scheme, e.g. `myhub.azure-devices.net/devices/device1` (not yet encoded). */
  readonly resourceUri: string;
  /** The key: base64 text as shown in the portal, or its decoded bytes. */
  readonly key: string | Uint8Array;
  /** Expiry in whole seconds since the Unix epoch. */
  readonly expiry: number;
  /** Name of the shared access policy the key belongs to (`skn`); absent for a device's own key. */
  readonly keyName?: string;
}

/**
 * `encodeURIComponent` that also escapes `!'()*` (RFC 3986 unreserved characters only
 * stay as they are), as the Azure IoT SDK for Node encodes `sr`, `sig` and `skn`.
 */
export function encodeUriComponentStrict(text: string): string {
  let encoded: string;
  try {
    encoded = encodeURIComponent(text);
  } catch {
    throw new TypeError('text with a lone surrogate cannot be URL-encoded');
  }
  return encoded.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `{hostName}/devices/{deviceId}` or `{hostName}/devices/{deviceId}/modules/{moduleId}`. */
export function azureResourceUri(hostName: string, deviceId: string, moduleId?: string): string {
  return moduleId === undefined ? `${hostName}/devices/${deviceId}` : `${hostName}/devices/${deviceId}/modules/${moduleId}`;
}

/** Builds a SAS token. Throws a TypeError for a key that is not base64, a RangeError for a bad expiry. */
export function azureSasToken(input: AzureSasTokenInput): string {
  if (typeof input.resourceUri !== 'string' || input.resourceUri.length === 0) {
    throw new TypeError('resourceUri must be a non-empty string');
  }
  if (!Number.isSafeInteger(input.expiry) || input.expiry < 0) {
    throw new RangeError(`expiry must be whole seconds since the epoch, got ${String(input.expiry)}`);
  }
  const key = typeof input.key === 'string' ? checkSharedAccessKey(input.key) : input.key;
  if (!(key instanceof Uint8Array) || key.length === 0) throw new TypeError('key must be base64 text or non-empty bytes');
  const sr = encodeUriComponentStrict(input.resourceUri);
  const signature = createHmac('sha256', key).update(`${sr}\n${input.expiry}`).digest('base64');
  let token = `SharedAccessSignature sr=${sr}&sig=${encodeUriComponentStrict(signature)}&se=${input.expiry}`;
  if (input.keyName !== undefined) {
    if (typeof input.keyName !== 'string' || input.keyName.length === 0) throw new TypeError('keyName must be a non-empty string');
    token += `&skn=${encodeUriComponentStrict(input.keyName)}`;
  }
  return token;
}

/** The fields of a SAS token (decoded), or `undefined` if it is not one. Never throws. */
export function parseAzureSasToken(
  token: string,
): {
  /** The resource URI (decoded). */
  readonly sr: string;
  /** The signature (base64, decoded from the URL form). */
  readonly sig: string;
  /** Expiry, seconds since the epoch. */
  readonly se: number;
  /** The policy name, when there is one. */
  readonly skn?: string;
} | undefined {
  const prefix = 'SharedAccessSignature ';
  if (!token.startsWith(prefix)) return undefined;
  const fields = new Map<string, string>();
  for (const part of token.slice(prefix.length).split('&')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    let value: string;
    try {
      value = decodeURIComponent(part.slice(eq + 1));
    } catch {
      return undefined;
    }
    fields.set(part.slice(0, eq), value);
  }
  const sr = fields.get('sr');
  const sig = fields.get('sig');
  const seText = fields.get('se');
  if (sr === undefined || sig === undefined || seText === undefined || !/^\d+$/.test(seText)) return undefined;
  const skn = fields.get('skn');
  return { sr, sig, se: Number(seText), ...(skn !== undefined ? { skn } : {}) };
}
