/**
 * Azure IoT Hub device (and module) connection strings:
 * `HostName={hub}.azure-devices.net;DeviceId={id};SharedAccessKey={base64}`, with the
 * variants the device SDKs accept: `ModuleId=`, `SharedAccessKeyName=` (a hub policy
 * key instead of the device's own), `SharedAccessSignature=` (a ready token),
 * `x509=true` (certificate authentication) and `GatewayHostName=` (connect through an
 * IoT Edge gateway). Keys are case-sensitive, as in the SDKs; unknown keys are kept.
 */
import { decodeBase64 } from './base64.ts';
import { checkHost } from './topic-level.ts';

/** An Azure IoT Hub device or module connection string taken apart (`parseAzureConnectionString`). */
export interface AzureConnectionString {
  /** `HostName`: `{hub}.azure-devices.net`. */
  readonly hostName: string;
  /** `DeviceId`. */
  readonly deviceId: string;
  /** `ModuleId`, for a module identity. */
  readonly moduleId?: string;
  /** The base64 key (device key, or the policy key when `sharedAccessKeyName` is set). */
  readonly sharedAccessKey?: string;
  /** `SharedAccessKeyName`: the hub policy the key belongs to. */
  readonly sharedAccessKeyName?: string;
  /** A ready SAS token (`SharedAccessSignature sr=...`), used as is. */
  readonly sharedAccessSignature?: string;
  /** The device authenticates with an X.509 certificate (`x509=true`). */
  readonly x509?: boolean;
  /** `GatewayHostName`: connect through this IoT Edge gateway. */
  readonly gatewayHostName?: string;
  /** Every `key=value` pair as given, including ones not modelled above. */
  readonly fields: ReadonlyMap<string, string>;
}

const KNOWN = ['HostName', 'DeviceId', 'ModuleId', 'SharedAccessKey', 'SharedAccessKeyName', 'SharedAccessSignature', 'x509', 'GatewayHostName'];

/**
 * Parses a device or module connection string. Throws a TypeError saying what is wrong:
 * a segment without `=`, a repeated key, a missing HostName or DeviceId, no credential or
 * more than one, a key that is not base64.
 */
export function parseAzureConnectionString(text: string): AzureConnectionString {
  if (typeof text !== 'string' || text.trim().length === 0) {
    throw new TypeError('Azure connection string must be a non-empty string');
  }
  const fields = new Map<string, string>();
  const segments = text.trim().split(';');
  for (const [i, segment] of segments.entries()) {
    if (segment.length === 0) continue; // a trailing ';'
    const eq = segment.indexOf('=');
    // The position, not the text: the segment may hold (part of) a key.
    if (eq <= 0) throw new TypeError(`Azure connection string: segment ${i + 1} of ${segments.length} is not key=value`);
    const key = segment.slice(0, eq).trim();
    const value = segment.slice(eq + 1).trim(); // keys end in '=': split at the first one only
    if (fields.has(key)) throw new TypeError(`Azure connection string: ${key} appears twice`);
    if (value.length === 0) throw new TypeError(`Azure connection string: ${key} is empty`);
    fields.set(key, value);
  }
  const wrongCase = [...fields.keys()].find((k) => !KNOWN.includes(k) && KNOWN.some((n) => n.toLowerCase() === k.toLowerCase()));
  if (wrongCase !== undefined) {
    throw new TypeError(`Azure connection string: key ${wrongCase} has the wrong case (keys are case-sensitive)`);
  }
  const hostName = fields.get('HostName');
  const deviceId = fields.get('DeviceId');
  if (hostName === undefined) throw new TypeError('Azure connection string has no HostName');
  if (deviceId === undefined) throw new TypeError('Azure connection string has no DeviceId');
  checkHost(hostName, 'HostName');
  const sharedAccessKey = fields.get('SharedAccessKey');
  const sharedAccessSignature = fields.get('SharedAccessSignature');
  const x509Text = fields.get('x509');
  if (x509Text !== undefined && x509Text.toLowerCase() !== 'true') {
    throw new TypeError(`Azure connection string: x509 must be "true", got ${JSON.stringify(x509Text)}`);
  }
  const x509 = x509Text !== undefined;
  const credentials = [sharedAccessKey, sharedAccessSignature, x509Text].filter((c) => c !== undefined).length;
  if (credentials === 0) {
    throw new TypeError('Azure connection string has no credential: SharedAccessKey, SharedAccessSignature or x509=true');
  }
  if (credentials > 1) {
    throw new TypeError('Azure connection string has more than one credential (SharedAccessKey, SharedAccessSignature, x509)');
  }
  if (sharedAccessKey !== undefined) checkSharedAccessKey(sharedAccessKey);
  const sharedAccessKeyName = fields.get('SharedAccessKeyName');
  if (sharedAccessKeyName !== undefined && sharedAccessKey === undefined) {
    throw new TypeError('Azure connection string: SharedAccessKeyName without SharedAccessKey');
  }
  if (sharedAccessSignature !== undefined && !sharedAccessSignature.startsWith('SharedAccessSignature ')) {
    throw new TypeError('Azure connection string: SharedAccessSignature must be a token starting with "SharedAccessSignature "');
  }
  const gatewayHostName = fields.get('GatewayHostName');
  if (gatewayHostName !== undefined) checkHost(gatewayHostName, 'GatewayHostName');
  const moduleId = fields.get('ModuleId');
  return {
    hostName,
    deviceId,
    fields,
    ...(moduleId !== undefined ? { moduleId } : {}),
    ...(sharedAccessKey !== undefined ? { sharedAccessKey } : {}),
    ...(sharedAccessKeyName !== undefined ? { sharedAccessKeyName } : {}),
    ...(sharedAccessSignature !== undefined ? { sharedAccessSignature } : {}),
    ...(x509 ? { x509 } : {}),
    ...(gatewayHostName !== undefined ? { gatewayHostName } : {}),
  };
}

/** Decodes a shared access key (standard base64, non-empty), or throws a TypeError. */
export function checkSharedAccessKey(key: unknown): Uint8Array {
  const bytes = typeof key === 'string' ? decodeBase64(key) : undefined;
  if (bytes === undefined || bytes.length === 0) {
    throw new TypeError('Azure shared access key must be non-empty standard base64 (as shown in the portal)');
  }
  return bytes;
}

