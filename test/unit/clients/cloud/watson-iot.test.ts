import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseWatsonCommandTopic, watsonIot, watsonIotTopics } from '../../../../src/clients/cloud/watson-iot.ts';

describe('watsonIot options', () => {
  it('uses the org host, d:{org}:{type}:{id}, token auth and TLS on 8883', () => {
    const preset = watsonIot({ org: 'abc123', deviceType: 'sensor', deviceId: 'dev-1', authToken: 'tok-en!' });
    assert.deepEqual(preset.options, {
      host: 'abc123.messaging.internetofthings.ibmcloud.com',
      port: 8883,
      protocolVersion: 4,
      clientId: 'd:abc123:sensor:dev-1',
      username: 'use-token-auth',
      password: 'tok-en!',
      tls: {},
    });
    assert.equal(preset.quickstart, false);
  });

  it('connects to quickstart without credentials on plain 1883', () => {
    const preset = watsonIot({ org: 'quickstart', deviceType: 'demo', deviceId: 'a1b2c3' });
    assert.deepEqual(preset.options, {
      host: 'quickstart.messaging.internetofthings.ibmcloud.com',
      port: 1883,
      protocolVersion: 4,
      clientId: 'd:quickstart:demo:a1b2c3',
    });
    assert.equal(preset.quickstart, true);
  });

  it('takes a domain, a host override, a port, plain MQTT, trust settings and MQTT extras', () => {
    const a = watsonIot({ org: 'abc123', deviceType: 't', deviceId: 'd', authToken: 'x', domain: 'iot.example.com', port: 443 });
    assert.equal(a.options.host, 'abc123.messaging.iot.example.com');
    assert.equal(a.options.port, 443);
    const b = watsonIot({ org: 'abc123', deviceType: 't', deviceId: 'd', authToken: 'x', secure: false });
    assert.equal(b.options.port, 1883);
    assert.equal('tls' in b.options, false);
    const c = watsonIot({
      org: 'abc123', deviceType: 't', deviceId: 'd', authToken: 'x',
      host: 'localhost', tls: { ca: { file: 'ca.pem' } }, mqtt: { keepaliveSeconds: 30, will: { topic: 'iot-2/evt/gone/fmt/json', payload: '{}' } },
    });
    assert.equal(c.options.host, 'localhost');
    assert.equal(c.options.clientId, 'd:abc123:t:d');
    assert.deepEqual(c.options.tls, { ca: { file: 'ca.pem' } });
    assert.equal(c.options.keepaliveSeconds, 30);
    assert.deepEqual(c.options.will, { topic: 'iot-2/evt/gone/fmt/json', payload: '{}' });
  });

  it('rejects missing or unexpected tokens and ids that would break the client id', () => {
    assert.throws(() => watsonIot({ org: 'abc123', deviceType: 't', deviceId: 'd' }), /authToken is required/);
    assert.throws(() => watsonIot({ org: 'quickstart', deviceType: 't', deviceId: 'd', authToken: 'x' }), /quickstart/);
    assert.throws(() => watsonIot({ org: 'abc123', deviceType: 't:x', deviceId: 'd', authToken: 'x' }), /deviceType/);
    assert.throws(() => watsonIot({ org: 'abc123', deviceType: 't', deviceId: 'a/b', authToken: 'x' }), /deviceId/);
    assert.throws(() => watsonIot({ org: 'abc123', deviceType: 't', deviceId: 'x'.repeat(37), authToken: 'x' }), /deviceId/);
    assert.throws(() => watsonIot({ org: 'ABC:1', deviceType: 't', deviceId: 'd', authToken: 'x' }), /org/);
    assert.throws(() => watsonIot({ org: 'abc123', deviceType: 't', deviceId: 'd', authToken: '' }), /authToken/);
    assert.throws(() => watsonIot({ org: 'abc123', deviceType: 't', deviceId: 'd', authToken: 'x', secure: false, tls: {} }), /secure is false/);
    assert.throws(() => watsonIot({ org: 'abc123', deviceType: 't', deviceId: 'd', authToken: 'x', port: 99999 }), RangeError);
  });
});

describe('Watson IoT topics', () => {
  it('names event topics and command filters', () => {
    const { topics } = watsonIot({ org: 'abc123', deviceType: 't', deviceId: 'd', authToken: 'x' });
    assert.equal(topics.event('status'), 'iot-2/evt/status/fmt/json');
    assert.equal(topics.event('temp', 'csv'), 'iot-2/evt/temp/fmt/csv');
    assert.equal(topics.commandFilter(), 'iot-2/cmd/+/fmt/+');
    assert.equal(topics.commandFilter('reboot'), 'iot-2/cmd/reboot/fmt/+');
    assert.equal(topics.commandFilter('reboot', 'json'), 'iot-2/cmd/reboot/fmt/json');
    assert.equal(topics.commandFilter('+', 'json'), 'iot-2/cmd/+/fmt/json');
    for (const bad of ['', 'a/b', 'a+', '#', 'a b']) {
      assert.throws(() => topics.event(bad), TypeError, bad);
      assert.throws(() => topics.commandFilter(bad), TypeError, bad);
    }
    assert.ok(Object.isFrozen(watsonIotTopics));
  });

  it('parses command topics back and rejects others', () => {
    assert.deepEqual(parseWatsonCommandTopic('iot-2/cmd/reboot/fmt/json'), { command: 'reboot', format: 'json' });
    assert.deepEqual(watsonIotTopics.parseCommand(watsonIotTopics.commandFilter('set.led-1', 'bin_x')), { command: 'set.led-1', format: 'bin_x' });
    for (const foreign of [
      'iot-2/evt/reboot/fmt/json',
      'iot-2/cmd/reboot/fmt',
      'iot-2/cmd/reboot/fmt/json/extra',
      'iot-2/cmd//fmt/json',
      'iot-2/cmd/+/fmt/+',
      'iot-2/type/t/id/d/cmd/reboot/fmt/json',
      'iot-3/cmd/reboot/fmt/json',
      '',
    ]) {
      assert.equal(parseWatsonCommandTopic(foreign), undefined, foreign);
    }
  });
});
