import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pahoOptions, pahoSslToTls, parsePahoServerUri } from '../../../../src/clients/cloud/paho-options.ts';

describe('parsePahoServerUri', () => {
  it('reads tcp, mqtt, ssl and mqtts URIs with and without ports', () => {
    assert.deepEqual(parsePahoServerUri('tcp://broker.example.com:1884'), { scheme: 'tcp', secure: false, host: 'broker.example.com', port: 1884 });
    assert.deepEqual(parsePahoServerUri('mqtt://broker'), { scheme: 'mqtt', secure: false, host: 'broker', port: 1883 });
    assert.deepEqual(parsePahoServerUri('ssl://broker.example.com'), { scheme: 'ssl', secure: true, host: 'broker.example.com', port: 8883 });
    assert.deepEqual(parsePahoServerUri('mqtts://10.0.0.1:443/'), { scheme: 'mqtts', secure: true, host: '10.0.0.1', port: 443 });
    assert.deepEqual(parsePahoServerUri('SSL://Broker:8884'), { scheme: 'ssl', secure: true, host: 'Broker', port: 8884 });
  });

  it('reads bracketed IPv6 literals', () => {
    assert.deepEqual(parsePahoServerUri('tcp://[::1]:1884'), { scheme: 'tcp', secure: false, host: '::1', port: 1884 });
    assert.deepEqual(parsePahoServerUri('ssl://[fd00::2]'), { scheme: 'ssl', secure: true, host: 'fd00::2', port: 8883 });
  });

  it('refuses WebSocket and unknown schemes, paths, credentials, bad ports and bad hosts', () => {
    const cases: Array<[string, RegExp]> = [
      ['ws://broker:80', /WebSocket is not supported/],
      ['wss://broker:443', /WebSocket is not supported/],
      ['unix:///tmp/mqtt.sock', /unknown scheme/],
      ['http://broker', /unknown scheme/],
      ['broker:1883', /must look like/],
      ['tcp:/broker', /must look like/],
      ['tcp://', /host/],
      ['tcp://:1883', /host/],
      ['tcp://broker:0', /port must be 1 to 65535/],
      ['tcp://broker:65536', /port must be 1 to 65535/],
      ['tcp://broker:abc', /port/],
      ['tcp://broker:', /port/],
      ['tcp://user:pass@broker:1883', /no path, query or user name/],
      ['tcp://broker:1883/topic', /no path/],
      ['tcp://broker:1883?x=1', /no path/],
      ['tcp://::1:1883', /IPv6 address must be in brackets/],
      ['tcp://[::1', /unclosed/],
      ['tcp://[zz]:1883', /not an IPv6 address/],
      ['tcp://[::1]x', /after '\]'/],
      ['tcp://bad host', /host/],
      ['', /non-empty/],
    ];
    for (const [uri, message] of cases) {
      assert.throws(() => parsePahoServerUri(uri), (e: unknown) => (e instanceof TypeError || e instanceof RangeError) && message.test(e.message), uri);
    }
  });
});

describe('pahoOptions', () => {
  it('maps Paho connect options to MqttClientOptions (seconds to ms, Paho defaults)', () => {
    const { options, servers } = pahoOptions({
      serverURI: 'tcp://broker.example.com:1883',
      clientId: 'paho-1',
      cleanSession: false,
      keepAliveInterval: 20,
      userName: 'user',
      password: 'pass',
      willMessage: { topic: 'status/paho-1', payload: 'offline', qos: 1, retained: true },
      connectionTimeout: 10,
    });
    assert.deepEqual(options, {
      host: 'broker.example.com',
      port: 1883,
      protocolVersion: 4,
      clientId: 'paho-1',
      username: 'user',
      password: 'pass',
      keepaliveSeconds: 20,
      clean: false,
      will: { topic: 'status/paho-1', payload: 'offline', qos: 1, retain: true },
      reconnect: false,
      connectTimeoutMs: 10_000,
    });
    assert.deepEqual(servers, [options]);
  });

  it('defaults to a clean session, no reconnect and MQTT 3.1.1', () => {
    assert.deepEqual(pahoOptions({ serverURI: 'mqtt://b' }).options, { host: 'b', port: 1883, protocolVersion: 4, clean: true, reconnect: false });
  });

  it('maps mqttVersion 0 and 4 to MQTT 3.1.1 and 5 to MQTT 5, and refuses 3.1 with a clear error', () => {
    assert.equal(pahoOptions({ serverURI: 'tcp://b', mqttVersion: 0 }).options.protocolVersion, 4);
    assert.equal(pahoOptions({ serverURI: 'tcp://b', mqttVersion: 4 }).options.protocolVersion, 4);
    const v5 = pahoOptions({ serverURI: 'tcp://b', mqttVersion: 5, sessionExpiryInterval: 300, password: 'token-only' }).options;
    assert.equal(v5.protocolVersion, 5);
    assert.equal(v5.sessionExpirySeconds, 300);
    assert.equal(v5.password, 'token-only');
    assert.throws(() => pahoOptions({ serverURI: 'tcp://b', mqttVersion: 3 }), (e: unknown) => e instanceof RangeError && /MQTT 3\.1\) is not supported/.test(e.message));
    assert.throws(() => pahoOptions({ serverURI: 'tcp://b', mqttVersion: 6 }), RangeError);
  });

  it('turns automaticReconnect into back-off with Paho C retry intervals', () => {
    assert.deepEqual(pahoOptions({ serverURI: 'tcp://b', automaticReconnect: true }).options.reconnect, { minDelayMs: 1000, maxDelayMs: 60_000 });
    assert.deepEqual(
      pahoOptions({ serverURI: 'tcp://b', automaticReconnect: true, minRetryInterval: 2, maxRetryInterval: 120 }).options.reconnect,
      { minDelayMs: 2000, maxDelayMs: 120_000 },
    );
    assert.deepEqual(pahoOptions({ serverURI: 'tcp://b', automaticReconnect: true, minRetryInterval: 90 }).options.reconnect, { minDelayMs: 90_000, maxDelayMs: 90_000 });
    assert.equal(pahoOptions({ serverURI: 'tcp://b', automaticReconnect: false }).options.reconnect, false);
    assert.throws(() => pahoOptions({ serverURI: 'tcp://b', automaticReconnect: true, minRetryInterval: 10, maxRetryInterval: 5 }), RangeError);
    assert.throws(() => pahoOptions({ serverURI: 'tcp://b', maxRetryInterval: 5 }), /automaticReconnect/);
  });

  it('gives one options object per server URI, TLS only for secure ones', () => {
    const { options, servers } = pahoOptions({
      serverURIs: ['ssl://a.example.com', 'tcp://[::1]:1884'],
      sslOptions: { trustStore: '/etc/ssl/ca.pem' },
    });
    assert.equal(servers.length, 2);
    assert.equal(options, servers[0]);
    assert.deepEqual(servers[0], { host: 'a.example.com', port: 8883, tls: { ca: { file: '/etc/ssl/ca.pem' } }, protocolVersion: 4, clean: true, reconnect: false });
    assert.deepEqual(servers[1], { host: '::1', port: 1884, protocolVersion: 4, clean: true, reconnect: false });
    assert.deepEqual(pahoOptions({ serverURI: 'mqtts://b' }).options.tls, {});
  });

  it('refuses malformed or unsupported settings with clear errors', () => {
    const cases: Array<[Parameters<typeof pahoOptions>[0], RegExp]> = [
      [{}, /serverURI/],
      [{ serverURIs: [] }, /serverURI/],
      [{ serverURI: 'tcp://a', serverURIs: ['tcp://b'] }, /not both/],
      [{ serverURI: 'tcp://a', password: 'p' }, /with a user name/],
      [{ serverURI: 'tcp://a', keepAliveInterval: -1 }, /keepAliveInterval/],
      [{ serverURI: 'tcp://a', keepAliveInterval: 1.5 }, /keepAliveInterval/],
      [{ serverURI: 'tcp://a', connectionTimeout: 0 }, /wait forever/],
      [{ serverURI: 'tcp://a', sessionExpiryInterval: 10 }, /mqttVersion 5/],
      [{ serverURI: 'tcp://a', willMessage: { topic: 'a/#', payload: 'x' } }, /willMessage\.topic/],
      [{ serverURI: 'tcp://a', willMessage: { topic: 'a', payload: 'x', qos: 3 as 1 } }, /qos/],
      [{ serverURI: 'tcp://a', willMessage: { topic: 'a', payload: 5 as unknown as string } }, /payload/],
      [{ serverURI: 'tcp://a', sslOptions: { trustStore: 'ca.pem' } }, /no server URI is ssl/],
      [{ serverURI: 'tcp://a', userName: 5 as unknown as string }, /userName/],
      [{ serverURI: 'ws://a' }, /WebSocket/],
    ];
    for (const [o, message] of cases) {
      assert.throws(() => pahoOptions(o), (e: unknown) => (e instanceof TypeError || e instanceof RangeError) && message.test(e.message), JSON.stringify(o));
    }
  });
});

describe('pahoSslToTls', () => {
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

  it('maps file names to { file }, keeps PEM text and bytes, and takes the key from the key store', () => {
    const bytes = new Uint8Array([45, 45]);
    assert.deepEqual(pahoSslToTls({ trustStore: 'ca.pem', keyStore: 'client.pem', privateKeyPassword: 'pw' }), {
      ca: { file: 'ca.pem' },
      cert: { file: 'client.pem' },
      key: { file: 'client.pem' },
      passphrase: 'pw',
    });
    assert.deepEqual(pahoSslToTls({ trustStore: pem, keyStore: bytes, privateKey: { file: 'k.pem' } }), { ca: pem, cert: bytes, key: { file: 'k.pem' } });
  });

  it('maps server verification, TLS 1.2 and ALPN', () => {
    assert.deepEqual(pahoSslToTls({ enableServerCertAuth: false, sslVersion: 3, protos: ['mqtt'] }), { verify: false, minVersion: 'TLSv1.2', alpn: ['mqtt'] });
    assert.deepEqual(pahoSslToTls({ sslVersion: 0 }), {});
  });

  it('refuses what it cannot honour', () => {
    assert.throws(() => pahoSslToTls({ sslVersion: 1 }), /TLS 1\.2 is the minimum/);
    assert.throws(() => pahoSslToTls({ sslVersion: 2 }), RangeError);
    assert.throws(() => pahoSslToTls({ CApath: '/etc/ssl/certs' }), /CApath/);
    assert.throws(() => pahoSslToTls({ enabledCipherSuites: 'HIGH' }), /enabledCipherSuites/);
    assert.throws(() => pahoSslToTls({ privateKey: 'k.pem' }), /needs keyStore/);
    assert.throws(() => pahoSslToTls({ trustStore: '' }), /trustStore/);
    assert.throws(() => pahoSslToTls({ protos: [''] }), /protos/);
    assert.throws(() => pahoSslToTls({ trustStore: 7 as unknown as string }), /trustStore/);
  });
});
