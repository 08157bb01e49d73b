import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { parseAzureConnectionString } from '../../../../src/clients/cloud/azure-connection-string.ts';
import { encodeAzurePropertyBag, parseAzurePropertyBag } from '../../../../src/clients/cloud/azure-property-bag.ts';
import {
  azureResourceUri,
  azureSasToken,
  encodeUriComponentStrict,
  parseAzureSasToken,
} from '../../../../src/clients/cloud/azure-sas-token.ts';
import { AZURE_IOT_HUB_API_VERSION, azureIotHub, azureIotHubTopics } from '../../../../src/clients/cloud/azure-iot-hub.ts';

// A made-up 32-byte device key, base64 as the portal shows it.
const KEY = Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7 + 1)).toString('base64');
const CS = `HostName=contoso.azure-devices.net;DeviceId=MyDevice01;SharedAccessKey=${KEY}`;

/** The SAS token computed independently, the way IoT Hub's documentation describes it. */
function expectedToken(resourceUri: string, keyB64: string, expiry: number, policy?: string): string {
  const sr = encodeURIComponent(resourceUri);
  const sig = createHmac('sha256', Buffer.from(keyB64, 'base64')).update(`${sr}\n${expiry}`).digest('base64');
  return `SharedAccessSignature sr=${sr}&sig=${encodeURIComponent(sig)}&se=${expiry}${policy === undefined ? '' : `&skn=${policy}`}`;
}

describe('parseAzureConnectionString', () => {
  it('reads a device connection string (the key ends in "=")', () => {
    const cs = parseAzureConnectionString(CS);
    assert.equal(cs.hostName, 'contoso.azure-devices.net');
    assert.equal(cs.deviceId, 'MyDevice01');
    assert.equal(cs.sharedAccessKey, KEY);
    assert.ok(KEY.endsWith('='));
    assert.equal(cs.moduleId, undefined);
    assert.equal(cs.x509, undefined);
    assert.equal(cs.fields.size, 3);
  });

  it('reads the module, policy, token, x509 and gateway variants and tolerates a trailing ";"', () => {
    const m = parseAzureConnectionString(`${CS};ModuleId=filter;GatewayHostName=edge.local;`);
    assert.equal(m.moduleId, 'filter');
    assert.equal(m.gatewayHostName, 'edge.local');
    const p = parseAzureConnectionString(`${CS};SharedAccessKeyName=device`);
    assert.equal(p.sharedAccessKeyName, 'device');
    const t = parseAzureConnectionString('HostName=h.azure-devices.net;DeviceId=d;SharedAccessSignature=SharedAccessSignature sr=a&sig=b&se=1');
    assert.equal(t.sharedAccessSignature, 'SharedAccessSignature sr=a&sig=b&se=1');
    const x = parseAzureConnectionString('HostName=h.azure-devices.net;DeviceId=d;x509=true');
    assert.equal(x.x509, true);
  });

  it('rejects malformed strings with a TypeError saying what is wrong', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /non-empty/],
      ['DeviceId=d;SharedAccessKey=' + KEY, /no HostName/],
      ['HostName=h.azure-devices.net;SharedAccessKey=' + KEY, /no DeviceId/],
      ['HostName=h.azure-devices.net;DeviceId=d', /no credential/],
      [`${CS};SharedAccessSignature=SharedAccessSignature sr=a&sig=b&se=1`, /more than one credential/],
      [`${CS};x509=true`, /more than one credential/],
      [`${CS};DeviceId=other`, /DeviceId appears twice/],
      [`hostname=h.azure-devices.net;DeviceId=d;SharedAccessKey=${KEY}`, /wrong case/],
      ['HostName=h.azure-devices.net;DeviceId=d;SharedAccessKey=not*base64', /base64/],
      ['HostName=h.azure-devices.net;DeviceId=d;SharedAccessKey=', /SharedAccessKey is empty/],
      [`HostName=h.azure-devices.net;DeviceId=d;garbage;SharedAccessKey=${KEY}`, /segment 3 of 4 is not key=value/],
      ['HostName=h.azure-devices.net;DeviceId=d;x509=yes', /x509 must be "true"/],
      ['HostName=h.azure-devices.net;DeviceId=d;SharedAccessSignature=sr=a', /must be a token/],
      [`HostName=bad host;DeviceId=d;SharedAccessKey=${KEY}`, /HostName/],
      ['HostName=h.azure-devices.net;DeviceId=d;SharedAccessKeyName=p;x509=true', /SharedAccessKeyName without SharedAccessKey/],
    ];
    for (const [text, message] of cases) assert.throws(() => parseAzureConnectionString(text), (e: unknown) => e instanceof TypeError && message.test(e.message), text);
  });

  it('does not echo the key in its errors', () => {
    const secret = 'c2VjcmV0LWtleS1kby1ub3QtbGVhaw==';
    assert.throws(
      () => parseAzureConnectionString(`HostName=h.azure-devices.net;DeviceId=d;${secret}`),
      (e: unknown) => e instanceof TypeError && !e.message.includes(secret.slice(0, 6)),
    );
  });
});

describe('azureSasToken', () => {
  it('signs the URL-encoded resource URI and the expiry with the decoded key (device key: no skn)', () => {
    const resourceUri = 'myhub.azure-devices.net/devices/device1';
    const token = azureSasToken({ resourceUri, key: KEY, expiry: 1456971697 });
    assert.equal(token, expectedToken(resourceUri, KEY, 1456971697));
    assert.match(token, /^SharedAccessSignature sr=myhub\.azure-devices\.net%2Fdevices%2Fdevice1&sig=[A-Za-z0-9%]+&se=1456971697$/);
  });

  it('adds skn for a hub policy key and accepts the key as bytes', () => {
    const resourceUri = 'myhub.azure-devices.net/devices/device1';
    const token = azureSasToken({ resourceUri, key: Buffer.from(KEY, 'base64'), expiry: 1456971697, keyName: 'device' });
    assert.equal(token, expectedToken(resourceUri, KEY, 1456971697, 'device'));
  });

  it('encodes the whole resource URI, also !\'()* in device ids', () => {
    assert.equal(encodeUriComponentStrict("a/b c!'()*~"), 'a%2Fb%20c%21%27%28%29%2A~');
    const resourceUri = azureResourceUri('h.azure-devices.net', "dev(1)!'*");
    const parsed = parseAzureSasToken(azureSasToken({ resourceUri, key: KEY, expiry: 10 }));
    assert.ok(parsed);
    assert.equal(parsed.sr, resourceUri);
    const raw = azureSasToken({ resourceUri, key: KEY, expiry: 10 });
    assert.ok(raw.includes('sr=h.azure-devices.net%2Fdevices%2Fdev%281%29%21%27%2A&'));
    const sr = encodeUriComponentStrict(resourceUri);
    const sig = createHmac('sha256', Buffer.from(KEY, 'base64')).update(`${sr}\n10`).digest('base64');
    assert.equal(parsed.sig, sig);
  });

  it('rejects bad keys and expiries', () => {
    assert.throws(() => azureSasToken({ resourceUri: 'h/devices/d', key: 'not base64!', expiry: 1 }), TypeError);
    assert.throws(() => azureSasToken({ resourceUri: 'h/devices/d', key: new Uint8Array(0), expiry: 1 }), TypeError);
    assert.throws(() => azureSasToken({ resourceUri: 'h/devices/d', key: KEY, expiry: 1.5 }), RangeError);
    assert.throws(() => azureSasToken({ resourceUri: 'h/devices/d', key: KEY, expiry: -1 }), RangeError);
    assert.throws(() => azureSasToken({ resourceUri: '', key: KEY, expiry: 1 }), TypeError);
  });

  it('parses tokens and rejects other text', () => {
    assert.deepEqual(parseAzureSasToken('SharedAccessSignature sr=a%2Fb&sig=x%3D&se=12&skn=p'), { sr: 'a/b', sig: 'x=', se: 12, skn: 'p' });
    for (const bad of ['', 'sr=a&sig=b&se=1', 'SharedAccessSignature sr=a&sig=b', 'SharedAccessSignature sr=a&sig=b&se=x', 'SharedAccessSignature sr=%&sig=b&se=1']) {
      assert.equal(parseAzureSasToken(bad), undefined, bad);
    }
  });
});

describe('azureIotHub options', () => {
  it('uses the documented client id, user name, port and MQTT 3.1.1 with TLS', () => {
    const hub = azureIotHub({ connectionString: CS, now: () => 1_700_000_000_500 });
    const { options } = hub;
    assert.equal(AZURE_IOT_HUB_API_VERSION, '2021-04-12');
    assert.equal(options.host, 'contoso.azure-devices.net');
    assert.equal(options.port, 8883);
    assert.deepEqual(options.tls, {});
    assert.equal(options.protocolVersion, 4);
    assert.equal(options.clientId, 'MyDevice01');
    assert.equal(options.username, 'contoso.azure-devices.net/MyDevice01/?api-version=2021-04-12');
    assert.equal(options.clean, false);
    assert.equal(hub.auth, 'sas-key');
    assert.equal(hub.hostName, 'contoso.azure-devices.net');
    assert.equal(hub.deviceId, 'MyDevice01');
  });

  it('gives a SAS token for the device resource URI that expires an hour later (seconds)', () => {
    const now = 1_700_000_000_500;
    const { options, token } = azureIotHub({ connectionString: CS, now: () => now });
    assert.equal(typeof options.password, 'function');
    const password = (options.password as () => string)();
    const expiry = 1_700_000_000 + 3600;
    assert.equal(password, expectedToken('contoso.azure-devices.net/devices/MyDevice01', KEY, expiry));
    assert.deepEqual(token?.(), { token: password, expiresAtMs: expiry * 1000 });
  });

  it('renews the token only when fewer than renewBeforeSeconds remain', () => {
    let now = 1_700_000_000_000;
    const { options } = azureIotHub({ connectionString: CS, now: () => now, tokenLifetimeSeconds: 600, renewBeforeSeconds: 60 });
    const password = options.password as () => string;
    const first = password();
    assert.equal(parseAzureSasToken(first)?.se, 1_700_000_600);
    now += 539_999; // 60.001 s left
    assert.equal(password(), first);
    now += 1; // exactly 60 s left
    const second = password();
    assert.notEqual(second, first);
    assert.equal(parseAzureSasToken(second)?.se, 1_700_000_540 + 600);
    assert.equal(second, expectedToken('contoso.azure-devices.net/devices/MyDevice01', KEY, 1_700_001_140));
    now += 1000;
    assert.equal(password(), second);
  });

  it('signs with a policy key (skn) and a module identity', () => {
    const { options } = azureIotHub({
      connectionString: `${CS};ModuleId=filter;SharedAccessKeyName=device`,
      now: () => 2_000_000_000_000,
      mqtt: { clean: true, keepaliveSeconds: 240 },
    });
    assert.equal(options.clientId, 'MyDevice01/filter');
    assert.equal(options.username, 'contoso.azure-devices.net/MyDevice01/filter/?api-version=2021-04-12');
    assert.equal(options.clean, true);
    assert.equal(options.keepaliveSeconds, 240);
    assert.equal(
      (options.password as () => string)(),
      expectedToken('contoso.azure-devices.net/devices/MyDevice01/modules/filter', KEY, 2_000_003_600, 'device'),
    );
  });

  it('builds from parts, with a gateway host, a port, an api-version and a model id', () => {
    const { options } = azureIotHub({
      hostName: 'contoso.azure-devices.net',
      deviceId: 'MyDevice01',
      sharedAccessKey: KEY,
      gatewayHostName: 'localhost',
      port: 18883,
      apiVersion: '2020-09-30',
      modelId: 'dtmi:com:example:Thermostat;1',
      tls: { ca: { file: 'test-ca.pem' }, servername: 'localhost' },
      now: () => 0,
    });
    assert.equal(options.host, 'localhost');
    assert.equal(options.port, 18883);
    assert.deepEqual(options.tls, { ca: { file: 'test-ca.pem' }, servername: 'localhost' });
    assert.equal(options.username, 'contoso.azure-devices.net/MyDevice01/?api-version=2020-09-30&model-id=dtmi%3Acom%3Aexample%3AThermostat%3B1');
    // The token is still for the hub's resource URI, not the gateway.
    assert.equal((options.password as () => string)(), expectedToken('contoso.azure-devices.net/devices/MyDevice01', KEY, 3600));
  });

  it('authenticates with an X.509 certificate: no password', () => {
    const cert = { file: 'device-cert.pem' };
    const key = { file: 'device-key.pem' };
    const hub = azureIotHub({ connectionString: 'HostName=contoso.azure-devices.net;DeviceId=cam;x509=true', x509: { cert, key } });
    assert.equal(hub.auth, 'x509');
    assert.equal(hub.options.password, undefined);
    assert.equal('password' in hub.options, false);
    assert.deepEqual(hub.options.tls, { cert, key });
    assert.equal(hub.options.username, 'contoso.azure-devices.net/cam/?api-version=2021-04-12');
    assert.equal(hub.token, undefined);
    const fromParts = azureIotHub({ hostName: 'contoso.azure-devices.net', deviceId: 'cam', x509: { cert, key, passphrase: 'p' } });
    assert.deepEqual(fromParts.options.tls, { cert, key, passphrase: 'p' });
  });

  it('uses a ready SAS token as the password, and refuses an expired one', () => {
    const ready = expectedToken('contoso.azure-devices.net/devices/MyDevice01', KEY, 2000);
    const cs = `HostName=contoso.azure-devices.net;DeviceId=MyDevice01;SharedAccessSignature=${ready}`;
    const hub = azureIotHub({ connectionString: cs, now: () => 1_000_000 });
    assert.equal(hub.auth, 'sas-token');
    assert.equal(hub.options.password, ready);
    assert.deepEqual(hub.token?.(), { token: ready, expiresAtMs: 2_000_000 });
    assert.throws(() => azureIotHub({ connectionString: cs, now: () => 2_000_000 }), RangeError);
  });

  it('rejects conflicting or missing credentials and bad identities', () => {
    assert.throws(() => azureIotHub({ connectionString: CS, deviceId: 'x' }), /not both/);
    assert.throws(() => azureIotHub({ hostName: 'h.azure-devices.net', deviceId: 'd' }), /exactly one credential/);
    assert.throws(() => azureIotHub({ hostName: 'h.azure-devices.net', deviceId: 'd', sharedAccessKey: KEY, x509: { cert: 'c', key: 'k' } }), /exactly one/);
    assert.throws(() => azureIotHub({ connectionString: 'HostName=h.azure-devices.net;DeviceId=d;x509=true' }), /x509/);
    assert.throws(() => azureIotHub({ connectionString: CS, x509: { cert: 'c', key: 'k' } }), /one or the other/);
    assert.throws(() => azureIotHub({ hostName: 'h.azure-devices.net', deviceId: 'a/b', sharedAccessKey: KEY }), /deviceId/);
    assert.throws(() => azureIotHub({ hostName: 'h.azure-devices.net', deviceId: 'a#', sharedAccessKey: KEY }), /deviceId/);
    assert.throws(() => azureIotHub({ hostName: 'h.azure-devices.net', deviceId: 'd', sharedAccessKey: 'bad key' }), TypeError);
    assert.throws(() => azureIotHub({ hostName: 'h.azure-devices.net', deviceId: 'd', sharedAccessSignature: 'nope' }), TypeError);
    assert.throws(() => azureIotHub({ connectionString: CS, tokenLifetimeSeconds: 0 }), RangeError);
    assert.throws(() => azureIotHub({ connectionString: CS, renewBeforeSeconds: 3600 }), RangeError);
    assert.throws(() => azureIotHub({ connectionString: CS, port: 70000 }), RangeError);
  });
});

describe('Azure IoT Hub topics', () => {
  const t = azureIotHubTopics('MyDevice01');

  it('sends telemetry to devices/{id}/messages/events/ with an optional property bag', () => {
    assert.equal(t.telemetry(), 'devices/MyDevice01/messages/events/');
    assert.equal(t.telemetry({}), 'devices/MyDevice01/messages/events/');
    // The documented routing example.
    assert.equal(
      t.telemetry({ '$.ct': 'application/json;charset=utf-8' }),
      'devices/MyDevice01/messages/events/$.ct=application%2Fjson%3Bcharset%3Dutf-8',
    );
    assert.equal(
      t.telemetry({ '$.ct': 'application/json', '$.ce': 'utf-8', alert: 'high temp', flag: null, empty: '' }),
      'devices/MyDevice01/messages/events/$.ct=application%2Fjson&$.ce=utf-8&alert=high%20temp&flag&empty=',
    );
  });

  it('encodes and decodes property bags (null: name only, empty: "name=")', () => {
    assert.equal(encodeAzurePropertyBag({ 'a&b': 'c=d', 'ü': '€' }), 'a%26b=c%3Dd&%C3%BC=%E2%82%AC');
    assert.deepEqual(parseAzurePropertyBag('?prop1&prop2=&prop3=a%20string'), { prop1: null, prop2: '', prop3: 'a string' });
    assert.deepEqual(parseAzurePropertyBag(''), {});
    assert.deepEqual(parseAzurePropertyBag('__proto__=x'), Object.defineProperty({}, '__proto__', { value: 'x', enumerable: true, writable: true, configurable: true }));
    for (const bad of ['a=%', 'a=%zz', '=x', 'a&&b', 'a=1&a=2', '&']) assert.equal(parseAzurePropertyBag(bad), undefined, bad);
    assert.throws(() => encodeAzurePropertyBag({ '': 'x' }), TypeError);
    assert.throws(() => encodeAzurePropertyBag({ a: '\ud800' }), TypeError);
    assert.throws(() => encodeAzurePropertyBag({ a: 1 as unknown as string }), TypeError);
  });

  it('subscribes to cloud-to-device messages and parses their property bags', () => {
    assert.equal(t.cloudToDeviceFilter, 'devices/MyDevice01/messages/devicebound/#');
    assert.deepEqual(t.parseCloudToDevice('devices/MyDevice01/messages/devicebound/'), { properties: {} });
    // The documented example of null, empty and string values.
    assert.deepEqual(t.parseCloudToDevice('devices/MyDevice01/messages/devicebound/?prop1&prop2=&prop3=a%20string'), {
      properties: { prop1: null, prop2: '', prop3: 'a string' },
    });
    assert.deepEqual(
      t.parseCloudToDevice('devices/MyDevice01/messages/devicebound/%24.mid=42&%24.to=%2Fdevices%2FMyDevice01%2Fmessages%2FdeviceBound&color=red'),
      { properties: { '$.mid': '42', '$.to': '/devices/MyDevice01/messages/deviceBound', color: 'red' } },
    );
    for (const foreign of [
      'devices/Other/messages/devicebound/a=1',
      'devices/MyDevice01/messages/events/a=1',
      'devices/MyDevice01/messages/devicebound',
      'devices/MyDevice01/messages/devicebound/a=%',
      '$iothub/twin/res/200/?$rid=1',
    ]) {
      assert.equal(t.parseCloudToDevice(foreign), undefined, foreign);
    }
  });

  it('parses direct method calls and builds their responses', () => {
    assert.equal(t.methodsFilter, '$iothub/methods/POST/#');
    assert.deepEqual(t.parseMethodRequest('$iothub/methods/POST/reboot/?$rid=1'), { name: 'reboot', rid: '1' });
    assert.deepEqual(t.parseMethodRequest('$iothub/methods/POST/set-led/?$rid=a%20b'), { name: 'set-led', rid: 'a b' });
    assert.equal(t.methodResponse(200, '1'), '$iothub/methods/res/200/?$rid=1');
    assert.equal(t.methodResponse(404, 'a b&c'), '$iothub/methods/res/404/?$rid=a%20b%26c');
    for (const foreign of [
      '$iothub/methods/POST/reboot/',
      '$iothub/methods/POST/reboot/?$rid=',
      '$iothub/methods/POST/reboot/?rid=1',
      '$iothub/methods/POST/reboot',
      '$iothub/methods/POST//?$rid=1',
      '$iothub/methods/res/200/?$rid=1',
      'devices/MyDevice01/messages/devicebound/',
    ]) {
      assert.equal(t.parseMethodRequest(foreign), undefined, foreign);
    }
    assert.throws(() => t.methodResponse(2.5, '1'), RangeError);
    assert.throws(() => t.methodResponse(200, ''), TypeError);
  });

  it('builds twin requests and parses twin responses (status, rid, version)', () => {
    assert.equal(t.twinResponseFilter, '$iothub/twin/res/#');
    assert.equal(t.twinGet('42'), '$iothub/twin/GET/?$rid=42');
    assert.equal(t.twinPatchReported('1'), '$iothub/twin/PATCH/properties/reported/?$rid=1');
    // The documented response to a reported-properties PATCH.
    assert.deepEqual(t.parseTwinResponse('$iothub/twin/res/204/?$rid=1&$version=6'), { status: 204, rid: '1', version: 6 });
    assert.deepEqual(t.parseTwinResponse('$iothub/twin/res/200/?$rid=42'), { status: 200, rid: '42' });
    assert.deepEqual(t.parseTwinResponse('$iothub/twin/res/429/?$rid=x%2Fy'), { status: 429, rid: 'x/y' });
    for (const foreign of [
      '$iothub/twin/res/abc/?$rid=1',
      '$iothub/twin/res/200/?$version=3',
      '$iothub/twin/res/200/?$rid=1&$version=x',
      '$iothub/twin/res/200/$rid=1',
      '$iothub/twin/res//?$rid=1',
      '$iothub/twin/GET/?$rid=1',
      '$iothub/methods/res/200/?$rid=1',
    ]) {
      assert.equal(t.parseTwinResponse(foreign), undefined, foreign);
    }
  });

  it('subscribes to desired property updates and reads their version', () => {
    assert.equal(t.twinDesiredFilter, '$iothub/twin/PATCH/properties/desired/#');
    assert.deepEqual(t.parseTwinDesired('$iothub/twin/PATCH/properties/desired/?$version=8'), { version: 8 });
    for (const foreign of ['$iothub/twin/PATCH/properties/desired/', '$iothub/twin/PATCH/properties/desired/?$version=', '$iothub/twin/PATCH/properties/reported/?$version=8']) {
      assert.equal(t.parseTwinDesired(foreign), undefined, foreign);
    }
  });

  it('uses module topics for a module identity (telemetry, inputs)', () => {
    const m = azureIotHubTopics('edge1', 'filter');
    assert.equal(m.telemetry({ a: '1' }), 'devices/edge1/modules/filter/messages/events/a=1');
    assert.equal(m.cloudToDeviceFilter, 'devices/edge1/modules/filter/inputs/#');
    assert.deepEqual(m.parseCloudToDevice('devices/edge1/modules/filter/inputs/input1/%24.cdid=edge1&k=v'), {
      input: 'input1',
      properties: { '$.cdid': 'edge1', k: 'v' },
    });
    assert.deepEqual(m.parseCloudToDevice('devices/edge1/modules/filter/inputs/input1'), { input: 'input1', properties: {} });
    assert.equal(m.parseCloudToDevice('devices/edge1/modules/filter/inputs//k=v'), undefined);
    assert.equal(m.parseCloudToDevice('devices/edge1/messages/devicebound/k=v'), undefined);
  });
});
