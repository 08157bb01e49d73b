import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatIPv6 } from '../../../../src/base/ip-address.ts';
import { awsShadowTopics, parseAwsShadowTopic } from '../../../../src/clients/cloud/aws-iot-core.ts';
import { azureIotHubTopics } from '../../../../src/clients/cloud/azure-iot-hub.ts';
import { encodeAzurePropertyBag, parseAzurePropertyBag } from '../../../../src/clients/cloud/azure-property-bag.ts';
import { parseAzureSasToken } from '../../../../src/clients/cloud/azure-sas-token.ts';
import { decodeBase64, encodeBase64 } from '../../../../src/clients/cloud/base64.ts';
import { jwtBrokerTopics } from '../../../../src/clients/cloud/jwt-broker.ts';
import { parsePahoServerUri } from '../../../../src/clients/cloud/paho-options.ts';
import { parseWatsonCommandTopic, watsonIotTopics } from '../../../../src/clients/cloud/watson-iot.ts';

const RUNS = { numRuns: 1000 };

/** Well-formed Unicode text (no lone surrogates), which is what a property or rid can be. */
const text = fc.string({ unit: 'grapheme', maxLength: 12 });
/** Any UTF-16 string, lone surrogates included: what a broker might send. */
const anything = fc.string({ unit: 'binary', maxLength: 60 });
/** Strings built from the pieces topics are made of, so parsers see near misses. */
const topicish = fc
  .array(
    fc.oneof(
      fc.constantFrom('$iothub', 'twin', 'res', 'methods', 'POST', 'PATCH', 'properties', 'desired', 'devices', 'dev1', 'messages', 'devicebound'),
      fc.constantFrom('$aws', 'things', 'shadow', 'name', 'get', 'update', 'delete', 'accepted', 'rejected', 'delta', 'documents'),
      fc.constantFrom('iot-2', 'cmd', 'evt', 'fmt', 'json', '?$rid=1', '$version=2', '&', '=', '%', '%2', '%zz', '?', '', '200'),
      text,
    ),
    { maxLength: 9 },
  )
  .map((parts) => parts.join('/'));
const identifier = (chars: string, max: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...chars.split('')), minLength: 1, maxLength: max });
const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

describe('Azure property bag properties', () => {
  it('parse(encode(bag)) == bag for any names and string/null values', () => {
    const bag = fc.dictionary(fc.oneof(text.filter((s) => s.length > 0), text.map((s) => `$.${s}`)), fc.option(text, { nil: null }), { maxKeys: 6 });
    fc.assert(fc.property(bag, (b) => {
      const encoded = encodeAzurePropertyBag(b);
      assert.ok(!/[/+#]/.test(encoded), `a bag stays inside one topic level: ${encoded}`);
      // fast-check gives a bag holding "__proto__" a null prototype; compare own properties.
      assert.deepEqual(parseAzurePropertyBag(encoded), { ...b });
      assert.deepEqual(parseAzurePropertyBag(`?${encoded}`), { ...b });
    }), RUNS);
  });

  it('the parser never throws, whatever it is given', () => {
    fc.assert(fc.property(fc.oneof(anything, topicish), (s) => {
      const parsed = parseAzurePropertyBag(s);
      if (parsed !== undefined) for (const v of Object.values(parsed)) assert.ok(v === null || typeof v === 'string');
    }), RUNS);
  });
});

describe('Azure topic parser properties', () => {
  const t = azureIotHubTopics('dev1');
  const m = azureIotHubTopics('dev1', 'mod1');

  it('rid, status and version survive the round trip through the topic names', () => {
    const rid = text.filter((s) => s.length > 0);
    fc.assert(fc.property(rid, fc.integer({ min: 100, max: 599 }), fc.option(fc.nat(), { nil: undefined }), (r, status, version) => {
      const methodTopic = t.methodResponse(status, r);
      assert.ok(methodTopic.startsWith(`$iothub/methods/res/${status}/?$rid=`));
      const get = t.twinGet(r);
      assert.equal(parseAzurePropertyBag(get.slice(get.indexOf('?')))?.['$rid'], r);
      // The hub answers on $iothub/twin/res/{status}/?$rid={rid}[&$version=...] with the rid echoed.
      const response = `$iothub/twin/res/${status}/${get.slice(get.indexOf('?'))}${version === undefined ? '' : `&$version=${version}`}`;
      assert.deepEqual(t.parseTwinResponse(response), version === undefined ? { status, rid: r } : { status, rid: r, version });
      const call = `$iothub/methods/POST/reboot/${get.slice(get.indexOf('?'))}`;
      assert.deepEqual(t.parseMethodRequest(call), { name: 'reboot', rid: r });
    }), RUNS);
  });

  it('cloud-to-device properties survive the round trip', () => {
    const bag = fc.dictionary(text.filter((s) => s.length > 0), fc.option(text, { nil: null }), { maxKeys: 5 });
    fc.assert(fc.property(bag, (b) => {
      const suffix = encodeAzurePropertyBag(b);
      assert.deepEqual(t.parseCloudToDevice(`devices/dev1/messages/devicebound/${suffix}`), { properties: { ...b } });
      assert.deepEqual(m.parseCloudToDevice(`devices/dev1/modules/mod1/inputs/in1/${suffix}`), { input: 'in1', properties: { ...b } });
    }), RUNS);
  });

  it('no parser throws on arbitrary or topic-shaped text', () => {
    fc.assert(fc.property(fc.oneof(anything, topicish), (s) => {
      for (const topics of [t, m]) {
        topics.parseCloudToDevice(s);
        topics.parseMethodRequest(s);
        topics.parseTwinResponse(s);
        topics.parseTwinDesired(s);
      }
      parseAzureSasToken(s);
      parseAzureSasToken(`SharedAccessSignature ${s}`);
    }), RUNS);
  });
});

describe('AWS, JWT-broker and Watson topic properties', () => {
  it('shadow topics parse back to their thing, shadow, operation and result', () => {
    const thing = identifier(`${ALNUM}:_-`, 128);
    const shadow = fc.option(identifier(`${ALNUM}$:_-`, 64), { nil: undefined });
    fc.assert(fc.property(thing, shadow, (thingName, shadowName) => {
      const all = awsShadowTopics(thingName, shadowName);
      for (const [field, topic] of Object.entries(all)) {
        if (field === 'prefix') continue;
        const parsed = parseAwsShadowTopic(topic);
        assert.ok(parsed, topic);
        assert.equal(parsed.thingName, thingName);
        assert.equal(parsed.shadowName, shadowName);
        assert.ok(field.toLowerCase().startsWith(parsed.operation));
        assert.equal(topic, `${all.prefix}/${parsed.operation}${parsed.result === undefined ? '' : `/${parsed.result}`}`);
      }
    }), RUNS);
  });

  it('Watson command topics parse back; the parsers never throw', () => {
    const name = identifier(`${ALNUM}_.-`, 20);
    fc.assert(fc.property(name, name, (command, format) => {
      assert.deepEqual(parseWatsonCommandTopic(watsonIotTopics.commandFilter(command, format)), { command, format });
    }), RUNS);
    fc.assert(fc.property(fc.oneof(anything, topicish), (s) => {
      parseWatsonCommandTopic(s);
      parseAwsShadowTopic(s);
      jwtBrokerTopics('dev1').parseCommand(s);
    }), RUNS);
  });
});

describe('Paho server URI properties', () => {
  const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
  const hostName = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.'));
  const v6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map(formatIPv6);
  const scheme = fc.constantFrom('tcp', 'mqtt', 'ssl', 'mqtts');

  it('parse(format(scheme, host, port)) gives them back, with the default port when none is written', () => {
    fc.assert(fc.property(scheme, fc.oneof(hostName, v6), fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }), (s, host, port) => {
      const written = host.includes(':') ? `[${host}]` : host;
      const uri = `${s}://${written}${port === undefined ? '' : `:${port}`}`;
      const parsed = parsePahoServerUri(uri);
      const secure = s === 'ssl' || s === 'mqtts';
      assert.deepEqual(parsed, { scheme: s, secure, host, port: port ?? (secure ? 8883 : 1883) });
    }), RUNS);
  });

  it('anything else fails with a TypeError or RangeError, never another error', () => {
    const uriish = fc
      .tuple(fc.constantFrom('tcp://', 'ssl://', 'ws://', 'mqtt:/', '', 'TCP://'), fc.oneof(anything, hostName, v6), fc.constantFrom('', ':', ':1883', ':0', ':99999', '/', '/x', ']', '@'))
      .map(([a, b, c]) => a + b + c);
    fc.assert(fc.property(fc.oneof(anything, uriish), (s) => {
      try {
        const parsed = parsePahoServerUri(s);
        assert.ok(parsed.port >= 1 && parsed.port <= 65535);
        assert.ok(parsed.host.length > 0);
      } catch (e) {
        assert.ok(e instanceof TypeError || e instanceof RangeError, String(e));
      }
    }), RUNS);
  });
});

describe('base64 properties', () => {
  it('decode(encode(b)) == b, and what decodes re-encodes to the same text', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
      assert.deepEqual(decodeBase64(encodeBase64(b)), b);
    }), RUNS);
    const b64ish = fc.string({ unit: fc.constantFrom(...'ABCDEFabcdef0189+/=-_ '.split('')), maxLength: 16 });
    fc.assert(fc.property(b64ish, (s) => {
      const decoded = decodeBase64(s);
      if (decoded !== undefined) assert.equal(encodeBase64(decoded), s);
    }), RUNS);
  });
});
