import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type KeyObject, createSecretKey, createSign, createVerify, generateKeyPairSync, verify } from 'node:crypto';
import { jwtBroker, jwtBrokerTopics } from '../../../../src/clients/cloud/jwt-broker.ts';
import { loadJwtKey, signJwt } from '../../../../src/clients/cloud/jwt.ts';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const ec384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
const rsaPem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const rsaPkcs1Pem = rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
const ecPem = ec.privateKey.export({ type: 'sec1', format: 'pem' }) as string;

interface Decoded {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

function decode(jwt: string): Decoded {
  const parts = jwt.split('.');
  assert.equal(parts.length, 3);
  for (const p of parts) assert.match(p, /^[A-Za-z0-9_-]+$/, 'base64url without padding');
  const [h, c, s] = parts as [string, string, string];
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as Record<string, unknown>,
    claims: JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as Record<string, unknown>,
    signingInput: `${h}.${c}`,
    signature: Buffer.from(s, 'base64url'),
  };
}

function verifyRs256(jwt: string, publicKey: KeyObject): boolean {
  const d = decode(jwt);
  return createVerify('RSA-SHA256').update(d.signingInput).verify(publicKey, d.signature);
}

function verifyEs256(jwt: string, publicKey: KeyObject): boolean {
  const d = decode(jwt);
  return verify('sha256', Buffer.from(d.signingInput), { key: publicKey, dsaEncoding: 'ieee-p1363' }, d.signature);
}

const cloudIot = {
  host: 'mqtt.googleapis.com',
  projectId: 'my-project',
  region: 'us-central1',
  registryId: 'my-registry',
  deviceId: 'my-device',
} as const;

describe('signJwt', () => {
  it('signs RS256 tokens that verify with the public key', () => {
    const key = loadJwtKey(rsaPem, 'RS256');
    const jwt = signJwt({ iat: 1, exp: 2, aud: 'p' }, key, 'RS256');
    const d = decode(jwt);
    assert.deepEqual(d.header, { alg: 'RS256', typ: 'JWT' });
    assert.deepEqual(d.claims, { iat: 1, exp: 2, aud: 'p' });
    assert.equal(d.signature.length, 256);
    assert.ok(verifyRs256(jwt, rsa.publicKey));
    // RSASSA-PKCS1-v1_5 is deterministic: the same bytes as an independent signer's.
    assert.ok(d.signature.equals(createSign('RSA-SHA256').update(d.signingInput).sign(rsa.privateKey)));
    assert.equal(d.signingInput, `${Buffer.from('{"alg":"RS256","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"iat":1,"exp":2,"aud":"p"}').toString('base64url')}`);
    assert.ok(!verifyRs256(jwt.replace(/\.[^.]+\./, `.${Buffer.from('{"iat":1,"exp":99,"aud":"p"}').toString('base64url')}.`), rsa.publicKey));
  });

  it('signs ES256 tokens with the raw 64-byte r||s signature', () => {
    const key = loadJwtKey(ecPem, 'ES256');
    const jwt = signJwt({ iat: 1, exp: 2, aud: 'p' }, key, 'ES256');
    const d = decode(jwt);
    assert.deepEqual(d.header, { alg: 'ES256', typ: 'JWT' });
    assert.equal(d.signature.length, 64);
    assert.ok(verifyEs256(jwt, ec.publicKey));
    // Not DER: a DER verifier refuses it.
    assert.equal(verify('sha256', Buffer.from(d.signingInput), ec.publicKey, d.signature), false);
  });

  it('accepts PEM text, PEM bytes, PKCS#1 and KeyObjects, and encrypted PEM with its passphrase', () => {
    const jwt1 = signJwt({ aud: 'x' }, loadJwtKey(new TextEncoder().encode(rsaPem), 'RS256'), 'RS256');
    const jwt2 = signJwt({ aud: 'x' }, loadJwtKey(rsaPkcs1Pem, 'RS256'), 'RS256');
    const jwt3 = signJwt({ aud: 'x' }, loadJwtKey(ec.privateKey, 'ES256'), 'ES256');
    assert.ok(verifyRs256(jwt1, rsa.publicKey));
    assert.ok(verifyRs256(jwt2, rsa.publicKey));
    assert.ok(verifyEs256(jwt3, ec.publicKey));
    const encrypted = ec.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string;
    assert.ok(verifyEs256(signJwt({ aud: 'x' }, loadJwtKey(encrypted, 'ES256', 'pw'), 'ES256'), ec.publicKey));
    assert.throws(() => loadJwtKey(encrypted, 'ES256', 'wrong'), TypeError);
  });

  it('refuses keys that do not fit the algorithm, public keys, non-PEM text and unknown algorithms', () => {
    assert.throws(() => loadJwtKey(ecPem, 'RS256'), /RS256 needs an RSA key/);
    assert.throws(() => loadJwtKey(rsaPem, 'ES256'), /ES256 needs an EC key on P-256/);
    assert.throws(() => loadJwtKey(ec384.privateKey, 'ES256'), /P-256/);
    assert.throws(() => loadJwtKey(rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string, 'RS256'), TypeError);
    assert.throws(() => loadJwtKey(rsa.publicKey, 'RS256'), /private key/);
    assert.throws(() => loadJwtKey(createSecretKey(new Uint8Array(32)), 'RS256'), /private key, got a secret key/);
    assert.throws(() => loadJwtKey({} as KeyObject, 'RS256'), /PEM text, PEM bytes or a KeyObject/);
    assert.throws(() => loadJwtKey('/etc/keys/rsa_private.pem', 'RS256'), /PEM text/);
    assert.throws(() => loadJwtKey('-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n', 'RS256'), TypeError);
    assert.throws(() => loadJwtKey(rsaPem, 'HS256' as 'RS256'), /RS256 or ES256/);
  });
});

describe('jwtBroker options', () => {
  it('uses the Cloud IoT client id, an ignored user name, TLS on 8883 and a JWT password', () => {
    const now = 1_700_000_000_900;
    const preset = jwtBroker({ ...cloudIot, privateKey: rsaPem, algorithm: 'RS256', now: () => now });
    const { options } = preset;
    assert.equal(options.host, 'mqtt.googleapis.com');
    assert.equal(options.port, 8883);
    assert.deepEqual(options.tls, {});
    assert.equal(options.protocolVersion, 4);
    assert.equal(options.clientId, 'projects/my-project/locations/us-central1/registries/my-registry/devices/my-device');
    assert.equal(options.username, 'unused');
    const jwt = (options.password as () => string)();
    const d = decode(jwt);
    assert.deepEqual(d.header, { alg: 'RS256', typ: 'JWT' });
    assert.deepEqual(d.claims, { iat: 1_700_000_000, exp: 1_700_003_600, aud: 'my-project' });
    assert.ok(verifyRs256(jwt, rsa.publicKey));
    assert.deepEqual(preset.token(), { token: jwt, expiresAtMs: 1_700_003_600_000 });
  });

  it('signs ES256 tokens with a custom audience, extra claims and lifetime', () => {
    const { options } = jwtBroker({
      host: 'broker.example.com',
      deviceId: 'dev-1',
      clientId: 'dev-1',
      audience: 'https://broker.example.com',
      privateKey: ecPem,
      algorithm: 'ES256',
      tokenLifetimeSeconds: 600,
      renewBeforeSeconds: 60,
      extraClaims: { sub: 'dev-1' },
      now: () => 10_000,
    });
    assert.equal(options.clientId, 'dev-1');
    const jwt = (options.password as () => string)();
    assert.deepEqual(decode(jwt).claims, { sub: 'dev-1', iat: 10, exp: 610, aud: 'https://broker.example.com' });
    assert.ok(verifyEs256(jwt, ec.publicKey));
  });

  it('reuses the token until renewal time, then signs a new one with new iat and exp', () => {
    let now = 1_700_000_000_000;
    const { options } = jwtBroker({ ...cloudIot, privateKey: ecPem, algorithm: 'ES256', now: () => now });
    const password = options.password as () => string;
    const first = password();
    now += 3_299_999; // 300.001 s before exp
    assert.equal(password(), first);
    now += 1; // 300 s before exp: renew
    const second = password();
    assert.notEqual(second, first);
    assert.deepEqual(decode(second).claims, { iat: 1_700_003_300, exp: 1_700_006_900, aud: 'my-project' });
    assert.ok(verifyEs256(second, ec.publicKey));
    assert.equal(password(), second);
  });

  it('connects without TLS to a test broker when secure is false', () => {
    const { options } = jwtBroker({ host: '127.0.0.1', deviceId: 'd', clientId: 'c', audience: 'a', privateKey: rsaPem, algorithm: 'RS256', secure: false });
    assert.equal(options.port, 1883);
    assert.equal('tls' in options, false);
  });

  it('passes trust settings and MQTT extras through', () => {
    const { options } = jwtBroker({
      ...cloudIot,
      host: 'localhost',
      port: 18883,
      privateKey: rsaPem,
      algorithm: 'RS256',
      username: 'device',
      tls: { ca: { file: 'ca.pem' } },
      mqtt: { keepaliveSeconds: 20, clean: false },
    });
    assert.equal(options.port, 18883);
    assert.equal(options.username, 'device');
    assert.deepEqual(options.tls, { ca: { file: 'ca.pem' } });
    assert.equal(options.keepaliveSeconds, 20);
    assert.equal(options.clean, false);
  });

  it('rejects incomplete identities, missing audiences, bad lifetimes and reserved extra claims', () => {
    const key = { privateKey: rsaPem, algorithm: 'RS256' as const };
    assert.throws(() => jwtBroker({ host: 'h', deviceId: 'd', projectId: 'p', region: 'r', ...key }), /projectId, region and registryId together/);
    assert.throws(() => jwtBroker({ host: 'h', deviceId: 'd', projectId: 'p', ...key }), /give clientId/);
    assert.throws(() => jwtBroker({ ...cloudIot, clientId: 'c', ...key }), /not both/);
    assert.throws(() => jwtBroker({ host: 'h', deviceId: 'd', clientId: 'c', ...key }), /audience/);
    assert.throws(() => jwtBroker({ ...cloudIot, deviceId: 'a/b', ...key }), /deviceId/);
    assert.throws(() => jwtBroker({ ...cloudIot, registryId: 'r+', ...key }), /registryId/);
    assert.throws(() => jwtBroker({ ...cloudIot, ...key, tokenLifetimeSeconds: 86401 }), RangeError);
    assert.throws(() => jwtBroker({ ...cloudIot, ...key, tokenLifetimeSeconds: 600, renewBeforeSeconds: 600 }), RangeError);
    assert.throws(() => jwtBroker({ ...cloudIot, ...key, extraClaims: { exp: 1 } }), /must not set exp/);
    assert.throws(() => jwtBroker({ ...cloudIot, privateKey: rsaPem, algorithm: 'ES256' }), /ES256/);
    assert.throws(() => jwtBroker({ ...cloudIot, ...key, secure: false, tls: { ca: 'x' } }), /secure is false/);
    assert.throws(() => jwtBroker({ ...cloudIot, ...key, host: 'not a host' }), /host/);
  });
});

describe('JWT broker topics', () => {
  const t = jwtBrokerTopics('my-device');

  it('names the Cloud IoT telemetry, state, config and command topics', () => {
    assert.equal(t.events(), '/devices/my-device/events');
    assert.equal(t.events('alerts'), '/devices/my-device/events/alerts');
    assert.equal(t.events('alerts/high'), '/devices/my-device/events/alerts/high');
    assert.equal(t.state, '/devices/my-device/state');
    assert.equal(t.config, '/devices/my-device/config');
    assert.equal(t.commandsFilter, '/devices/my-device/commands/#');
    assert.throws(() => t.events('a/+'), TypeError);
    assert.throws(() => t.events(''), TypeError);
  });

  it('parses command topics and rejects others', () => {
    assert.deepEqual(t.parseCommand('/devices/my-device/commands'), {});
    assert.deepEqual(t.parseCommand('/devices/my-device/commands/reboot'), { subfolder: 'reboot' });
    assert.deepEqual(t.parseCommand('/devices/my-device/commands/a/b'), { subfolder: 'a/b' });
    for (const foreign of [
      '/devices/my-device/commands/',
      '/devices/my-device/commands//x',
      '/devices/my-device/commandsx',
      '/devices/other/commands/reboot',
      '/devices/my-device/config',
      'devices/my-device/commands/reboot',
    ]) {
      assert.equal(t.parseCommand(foreign), undefined, foreign);
    }
  });
});
