import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBase64, encodeBase64, encodeBase64Url } from '../../../../src/clients/cloud/base64.ts';
import { lifetimeMs, renewingToken } from '../../../../src/clients/cloud/renewing-token.ts';
import { checkHost, checkTopicLevel, checkTopicPath } from '../../../../src/clients/cloud/topic-level.ts';
import { systemWallClock } from '../../../../src/clients/cloud/wall-clock.ts';

const bytes = (...xs: number[]): Uint8Array => Uint8Array.from(xs);

describe('base64', () => {
  it('encodes the RFC 4648 test vectors', () => {
    const vectors: Array<[string, string]> = [
      ['', ''],
      ['f', 'Zg=='],
      ['fo', 'Zm8='],
      ['foo', 'Zm9v'],
      ['foob', 'Zm9vYg=='],
      ['fooba', 'Zm9vYmE='],
      ['foobar', 'Zm9vYmFy'],
    ];
    for (const [text, b64] of vectors) {
      const raw = new TextEncoder().encode(text);
      assert.equal(encodeBase64(raw), b64);
      assert.deepEqual(decodeBase64(b64), raw);
      assert.equal(encodeBase64Url(raw), b64.replace(/=+$/, ''));
    }
  });

  it('uses - and _ without padding in base64url', () => {
    assert.equal(encodeBase64(bytes(0xfb, 0xff, 0xbf)), '+/+/');
    assert.equal(encodeBase64Url(bytes(0xfb, 0xff, 0xbf)), '-_-_');
    assert.equal(encodeBase64Url(bytes(0xff)), '_w');
  });

  it('agrees with Node for every length up to 40', () => {
    for (let n = 0; n <= 40; n++) {
      const raw = Uint8Array.from({ length: n }, (_, i) => (i * 151 + 7) & 0xff);
      assert.equal(encodeBase64(raw), Buffer.from(raw).toString('base64'));
      assert.equal(encodeBase64Url(raw), Buffer.from(raw).toString('base64url'));
    }
  });

  it('refuses malformed base64 instead of guessing', () => {
    for (const bad of ['Zg', 'Zg=', 'Zm9v=', 'Z===', '====', 'Zm9v!A==', 'Zm-v', 'Zm_v', 'Zh==', 'Zm9=', ' Zm9v', 'Zg==Zg==']) {
      assert.equal(decodeBase64(bad), undefined, bad);
    }
  });
});

describe('renewingToken', () => {
  it('reuses a token until fewer than renewBeforeMs remain, then issues a new one', () => {
    let t = 1_000_000;
    let issued = 0;
    const r = renewingToken((nowMs) => ({ token: `tok${++issued}@${nowMs}`, expiresAtMs: nowMs + 60_000 }), 10_000, () => t);
    assert.equal(r.password(), 'tok1@1000000');
    t += 49_999;
    assert.equal(r.password(), 'tok1@1000000');
    assert.deepEqual(r.current(), { token: 'tok1@1000000', expiresAtMs: 1_060_000 });
    t += 1; // 10 s before expiry
    assert.equal(r.password(), 'tok2@1050000');
    assert.equal(issued, 2);
  });

  it('issues a new token when the clock goes back before the issue time', () => {
    let t = 5_000;
    let issued = 0;
    const r = renewingToken((nowMs) => ({ token: `t${++issued}`, expiresAtMs: nowMs + 60_000 }), 0, () => t);
    assert.equal(r.password(), 't1');
    t = 4_000;
    assert.equal(r.password(), 't2');
  });

  it('checks lifetimes and renewal margins', () => {
    assert.deepEqual(lifetimeMs(3600, 600, 86400), { lifetimeMs: 3_600_000, renewBeforeMs: 600_000 });
    assert.throws(() => lifetimeMs(0, 0, 86400), RangeError);
    assert.throws(() => lifetimeMs(86401, 0, 86400), RangeError);
    assert.throws(() => lifetimeMs(1.5, 0, 86400), RangeError);
    assert.throws(() => lifetimeMs(60, 60, 86400), RangeError);
    assert.throws(() => lifetimeMs(60, -1, 86400), RangeError);
  });

  it('the system wall clock is epoch milliseconds', () => {
    const before = Date.now();
    const now = systemWallClock();
    assert.ok(now >= before && now <= Date.now());
  });
});

describe('topic level checks', () => {
  it('accepts one level and rejects separators, wildcards, NUL and empty names', () => {
    assert.equal(checkTopicLevel('dev-1', 'deviceId'), 'dev-1');
    for (const bad of ['', 'a/b', 'a+', '#', 'a\u0000b', 42, undefined]) {
      assert.throws(() => checkTopicLevel(bad, 'deviceId'), /deviceId/);
    }
  });

  it('accepts paths without empty levels', () => {
    assert.equal(checkTopicPath('a/b/c', 'topic'), 'a/b/c');
    for (const bad of ['', '/a', 'a/', 'a//b', 'a/+/b', 'a/#']) assert.throws(() => checkTopicPath(bad, 'topic'), TypeError, bad);
  });

  it('accepts host names and IP literals', () => {
    for (const ok of ['localhost', 'a-b.example.com', '10.0.0.1', '::1', 'fd00::2']) assert.equal(checkHost(ok, 'host'), ok);
    for (const bad of ['', 'a b', '-a.example', 'a..b', 'a_b.example', 'x'.repeat(64), '[::1]', 'http://x']) {
      assert.throws(() => checkHost(bad, 'host'), TypeError, bad);
    }
  });
});

describe('src/clients/cloud/index.ts', () => {
  it('exports every preset, topic helper, parser and token function', async () => {
    const cloud = await import('../../../../src/clients/cloud/index.ts');
    for (const name of [
      'awsIotCore', 'awsShadowTopics', 'parseAwsShadowTopic', 'awsBasicIngestTopic',
      'azureIotHub', 'azureIotHubTopics', 'parseAzureConnectionString', 'azureSasToken', 'parseAzureSasToken',
      'azureResourceUri', 'encodeUriComponentStrict', 'encodeAzurePropertyBag', 'parseAzurePropertyBag',
      'jwtBroker', 'jwtBrokerTopics', 'signJwt', 'loadJwtKey',
      'watsonIot', 'parseWatsonCommandTopic',
      'pahoOptions', 'parsePahoServerUri', 'pahoSslToTls',
    ] as const) {
      assert.equal(typeof cloud[name], 'function', name);
    }
    assert.equal(cloud.AWS_MQTT_ALPN, 'x-amzn-mqtt-ca');
    assert.equal(cloud.AZURE_IOT_HUB_API_VERSION, '2021-04-12');
    assert.equal(cloud.WATSON_QUICKSTART_ORG, 'quickstart');
    assert.equal(cloud.WATSON_DEFAULT_DOMAIN, 'internetofthings.ibmcloud.com');
    assert.equal(typeof cloud.watsonIotTopics.event, 'function');
  });
});
