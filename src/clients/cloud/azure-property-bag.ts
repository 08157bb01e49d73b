/**
 * IoT Hub's MQTT property bag: message properties carried in the topic name as
 * `name=value` pairs joined by `&`, each part URL-encoded (the encoding of HTTPS query
 * strings). A property whose value is `null` appears as its name alone, an empty value
 * as `name=`. System properties have names starting with `$.` (`$.ct` content type,
 * `$.ce` content encoding, `$.mid` message id, `$.cid` correlation id...), which are
 * written with the `$` as is, as in IoT Hub's documentation
 * (`devices/{id}/messages/events/$.ct=application%2Fjson%3Bcharset%3Dutf-8`).
 */

/** Property values: a string, or `null` for a property without a value. */
export type AzurePropertyBag = Readonly<Record<string, string | null>>;

/** `encodeURIComponent`, with a TypeError (not a URIError) for text with lone surrogates. */
export function encodeAzureComponent(text: string, what: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    throw new TypeError(`${what} is not well-formed Unicode (a lone surrogate): it cannot be URL-encoded`);
  }
}

function encodeName(name: string): string {
  const what = `property name ${JSON.stringify(name)}`;
  return name.startsWith('$.') ? `$.${encodeAzureComponent(name.slice(2), what)}` : encodeAzureComponent(name, what);
}

/** Encodes properties in the given order; `''` for none. Throws a TypeError for an empty name. */
export function encodeAzurePropertyBag(properties: AzurePropertyBag): string {
  const parts: string[] = [];
  for (const [name, value] of Object.entries(properties)) {
    if (name.length === 0) throw new TypeError('property names must not be empty');
    if (value !== null && typeof value !== 'string') {
      throw new TypeError(`property ${JSON.stringify(name)} must be a string or null`);
    }
    parts.push(value === null ? encodeName(name) : `${encodeName(name)}=${encodeAzureComponent(value, `property ${JSON.stringify(name)}`)}`);
  }
  return parts.join('&');
}

/**
 * Decodes a property bag (a leading `?` is skipped). Returns `undefined` for malformed
 * input: an empty pair, an empty name, a bad `%` escape, a name given twice. Never throws.
 */
export function parseAzurePropertyBag(text: string): Record<string, string | null> | undefined {
  const body = text.startsWith('?') ? text.slice(1) : text;
  const out: Record<string, string | null> = {};
  if (body.length === 0) return out;
  for (const part of body.split('&')) {
    const eq = part.indexOf('=');
    let name: string;
    let value: string | null;
    try {
      name = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
      value = eq < 0 ? null : decodeURIComponent(part.slice(eq + 1));
    } catch {
      return undefined;
    }
    if (name.length === 0 || Object.prototype.hasOwnProperty.call(out, name)) return undefined;
    // defineProperty, not assignment: a property named "__proto__" stays a property.
    Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}
