import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  AWS_MQTT_ALPN,
  awsBasicIngestTopic,
  awsIotCore,
  awsShadowTopics,
  parseAwsShadowTopic,
} from '../../../../src/clients/cloud/aws-iot-core.ts';

const cert = { file: '/etc/device/cert.pem' };
const key = { file: '/etc/device/key.pem' };

describe('awsIotCore options', () => {
  it('builds the ATS data endpoint, mutual TLS on 8883 and the thing name as client id', () => {
    const { options } = awsIotCore({ accountPrefix: 'a1b2c3d4e5f6g7', region: 'eu-west-1', thingName: 'pump-7', cert, key });
    assert.deepEqual(options, {
      host: 'a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com',
      port: 8883,
      tls: { cert, key },
      clientId: 'pump-7',
      protocolVersion: 4,
    });
  });

  it('offers ALPN x-amzn-mqtt-ca on port 443', () => {
    const { options } = awsIotCore({ endpoint: 'abc-ats.iot.us-east-1.amazonaws.com', thingName: 't', cert, key, port: 443 });
    assert.equal(AWS_MQTT_ALPN, 'x-amzn-mqtt-ca');
    assert.equal(options.port, 443);
    assert.deepEqual(options.tls, { cert, key, alpn: ['x-amzn-mqtt-ca'] });
  });

  it('passes PEM sources, passphrase, trust settings, client id, MQTT 5 and MQTT extras through', () => {
    const pemCert = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const bytesKey = new Uint8Array([1, 2, 3]);
    const { options } = awsIotCore({
      endpoint: 'localhost',
      thingName: 'thing:1',
      clientId: 'other-client',
      cert: pemCert,
      key: bytesKey,
      passphrase: 'secret',
      protocolVersion: 5,
      tls: { ca: { file: 'test-ca.pem' }, servername: 'broker.test' },
      mqtt: { keepaliveSeconds: 30, clean: false, sessionExpirySeconds: 3600 },
    });
    assert.deepEqual(options, {
      host: 'localhost',
      port: 8883,
      tls: { cert: pemCert, key: bytesKey, passphrase: 'secret', ca: { file: 'test-ca.pem' }, servername: 'broker.test' },
      clientId: 'other-client',
      protocolVersion: 5,
      keepaliveSeconds: 30,
      clean: false,
      sessionExpirySeconds: 3600,
    });
  });

  it('keeps the preset fields when MQTT extras try to override them', () => {
    const sneaky = { keepaliveSeconds: 45, host: 'evil.example', clientId: 'x' } as unknown as { keepaliveSeconds: number };
    const { options } = awsIotCore({ endpoint: 'e-ats.iot.eu-west-1.amazonaws.com', thingName: 't', cert, key, mqtt: sneaky });
    assert.equal(options.host, 'e-ats.iot.eu-west-1.amazonaws.com');
    assert.equal(options.clientId, 't');
    assert.equal(options.keepaliveSeconds, 45);
  });

  it('rejects missing or conflicting endpoints, China Regions, bad names and missing credentials', () => {
    const base = { thingName: 't', cert, key };
    assert.throws(() => awsIotCore({ ...base }), TypeError);
    assert.throws(() => awsIotCore({ ...base, accountPrefix: 'abc' }), TypeError);
    assert.throws(() => awsIotCore({ ...base, endpoint: 'x.example', region: 'eu-west-1' }), TypeError);
    assert.throws(() => awsIotCore({ ...base, accountPrefix: 'abc', region: 'cn-north-1' }), RangeError);
    assert.throws(() => awsIotCore({ ...base, accountPrefix: 'abc', region: 'Europe' }), TypeError);
    assert.throws(() => awsIotCore({ ...base, endpoint: 'bad host' }), TypeError);
    assert.throws(() => awsIotCore({ ...base, endpoint: 'e.example', thingName: 'a/b' }), /thingName/);
    assert.throws(() => awsIotCore({ ...base, endpoint: 'e.example', thingName: 'x'.repeat(129) }), TypeError);
    assert.throws(() => awsIotCore({ ...base, endpoint: 'e.example', port: 0 }), RangeError);
    assert.throws(() => awsIotCore({ thingName: 't', cert, endpoint: 'e.example' } as unknown as Parameters<typeof awsIotCore>[0]), /cert and key/);
    assert.throws(() => awsIotCore({ ...base, endpoint: 'e.example', protocolVersion: 3 as 4 }), RangeError);
  });
});

describe('AWS Device Shadow topics', () => {
  it('gives the documented classic shadow topics', () => {
    const t = awsShadowTopics('thingName');
    assert.deepEqual(t, {
      prefix: '$aws/things/thingName/shadow',
      get: '$aws/things/thingName/shadow/get',
      getAccepted: '$aws/things/thingName/shadow/get/accepted',
      getRejected: '$aws/things/thingName/shadow/get/rejected',
      update: '$aws/things/thingName/shadow/update',
      updateAccepted: '$aws/things/thingName/shadow/update/accepted',
      updateRejected: '$aws/things/thingName/shadow/update/rejected',
      updateDelta: '$aws/things/thingName/shadow/update/delta',
      updateDocuments: '$aws/things/thingName/shadow/update/documents',
      delete: '$aws/things/thingName/shadow/delete',
      deleteAccepted: '$aws/things/thingName/shadow/delete/accepted',
      deleteRejected: '$aws/things/thingName/shadow/delete/rejected',
    });
  });

  it('puts named shadows under shadow/name/{shadowName}', () => {
    const { topics } = awsIotCore({ endpoint: 'e.example', thingName: 'pump-7', cert, key });
    const t = topics.shadow('config');
    assert.equal(t.prefix, '$aws/things/pump-7/shadow/name/config');
    assert.equal(t.updateDelta, '$aws/things/pump-7/shadow/name/config/update/delta');
    assert.equal(topics.shadow().update, '$aws/things/pump-7/shadow/update');
    assert.throws(() => topics.shadow('a/b'), TypeError);
    assert.throws(() => topics.shadow(''), TypeError);
    assert.throws(() => topics.shadow('s'.repeat(65)), TypeError);
  });

  it('parses every topic it builds back to the same thing, shadow, operation and result', () => {
    for (const shadowName of [undefined, 'config', '$meta']) {
      const t = awsShadowTopics('pump-7', shadowName);
      const expected: Array<[string, string, string | undefined]> = [
        [t.get, 'get', undefined],
        [t.getAccepted, 'get', 'accepted'],
        [t.getRejected, 'get', 'rejected'],
        [t.update, 'update', undefined],
        [t.updateAccepted, 'update', 'accepted'],
        [t.updateRejected, 'update', 'rejected'],
        [t.updateDelta, 'update', 'delta'],
        [t.updateDocuments, 'update', 'documents'],
        [t.delete, 'delete', undefined],
        [t.deleteAccepted, 'delete', 'accepted'],
        [t.deleteRejected, 'delete', 'rejected'],
      ];
      for (const [topic, operation, result] of expected) {
        const parsed = parseAwsShadowTopic(topic);
        assert.ok(parsed, topic);
        assert.equal(parsed.thingName, 'pump-7');
        assert.equal(parsed.shadowName, shadowName);
        assert.equal(parsed.operation, operation);
        assert.equal(parsed.result, result);
        assert.equal('shadowName' in parsed, shadowName !== undefined);
        assert.equal('result' in parsed, result !== undefined);
      }
    }
  });

  it('rejects topics that are not shadow topics', () => {
    for (const topic of [
      '',
      'devices/x/messages/events/',
      '$aws/things/pump-7/shadow',
      '$aws/things/pump-7/shadow/',
      '$aws/things/pump-7/shadows/get',
      '$aws/things//shadow/get',
      '$aws/things/pump 7/shadow/get',
      '$aws/things/pump-7/shadow/get/delta',
      '$aws/things/pump-7/shadow/delete/documents',
      '$aws/things/pump-7/shadow/update/accepted/extra',
      '$aws/things/pump-7/shadow/name//get',
      '$aws/things/pump-7/shadow/name/config',
      '$aws/things/pump-7/shadow/name/config/patch',
      '$aws/things/pump-7/jobs/notify',
      'aws/things/pump-7/shadow/get',
    ]) {
      assert.equal(parseAwsShadowTopic(topic), undefined, topic);
    }
  });
});

describe('AWS Basic Ingest topics', () => {
  it('prefixes the rule topic with $aws/rules/{rule} (the documented example)', () => {
    assert.equal(
      awsBasicIngestTopic('BuildingManager', 'Buildings/Building5/Floor2/Room201/Lights'),
      '$aws/rules/BuildingManager/Buildings/Building5/Floor2/Room201/Lights',
    );
    const { topics } = awsIotCore({ endpoint: 'e.example', thingName: 't', cert, key });
    assert.equal(topics.basicIngest('my_rule', 'telemetry'), '$aws/rules/my_rule/telemetry');
  });

  it('rejects rule names outside a-zA-Z0-9_ and topics with wildcards or empty levels', () => {
    assert.throws(() => awsBasicIngestTopic('my-rule', 't'), /ruleName/);
    assert.throws(() => awsBasicIngestTopic('rule', 'a/+/b'), TypeError);
    assert.throws(() => awsBasicIngestTopic('rule', 'a//b'), TypeError);
    assert.throws(() => awsBasicIngestTopic('rule', ''), TypeError);
  });
});
