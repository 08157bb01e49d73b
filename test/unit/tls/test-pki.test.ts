/**
 * The test PKI helper (test/support/test-pki.ts): who issued what, validity windows,
 * names, the encrypted key, and that plain `node:tls` agrees (chain, client auth).
 */
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { createTestPki, type TestPki } from '../../support/test-pki.ts';

describe('test PKI', () => {
  let pki: TestPki;

  before(async () => {
    pki = await createTestPki({ serverSans: ['10.0.0.2', 'broker.test'] });
  });

  after(() => pki.dispose());

  const x509 = (pem: string): X509Certificate => new X509Certificate(pem);

  it('issuers and signatures', () => {
    const root = x509(pki.ca);
    const inter = x509(pki.intermediate.cert);
    const untrusted = x509(pki.untrustedCa.cert);
    assert.ok(root.ca && inter.ca && untrusted.ca);
    assert.ok(root.checkIssued(root) && root.verify(root.publicKey));
    assert.ok(inter.checkIssued(root) && inter.verify(root.publicKey));
    for (const leaf of [pki.server, pki.expired, pki.notYetValid, pki.wrongHost]) {
      const c = x509(leaf.cert);
      assert.ok(!c.ca);
      assert.ok(c.checkIssued(inter) && c.verify(inter.publicKey));
      assert.equal(leaf.chain, leaf.cert + pki.intermediate.cert);
    }
    for (const leaf of [pki.untrustedServer, pki.untrustedClient]) {
      assert.ok(x509(leaf.cert).verify(untrusted.publicKey));
      assert.ok(!x509(leaf.cert).verify(root.publicKey));
    }
    assert.ok(x509(pki.client.cert).verify(root.publicKey));
    const self = x509(pki.selfSigned.cert);
    assert.ok(self.subject === self.issuer && self.verify(self.publicKey));
    assert.ok(x509(pki.server.cert).checkPrivateKey(createPrivateKey(pki.server.key)));
  });

  it('validity windows and names', () => {
    const now = Date.now();
    const valid = (pem: string): boolean => {
      const c = x509(pem);
      return Date.parse(c.validFrom) <= now && now <= Date.parse(c.validTo);
    };
    assert.ok(valid(pki.server.cert) && valid(pki.client.cert) && valid(pki.ca) && valid(pki.intermediate.cert));
    assert.ok(Date.parse(x509(pki.expired.cert).validTo) < now);
    assert.ok(Date.parse(x509(pki.notYetValid.cert).validFrom) > now);
    const server = x509(pki.server.cert);
    assert.equal(server.checkHost('localhost'), 'localhost');
    assert.equal(server.checkHost('broker.test'), 'broker.test');
    assert.equal(server.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(server.checkIP('10.0.0.2'), '10.0.0.2');
    assert.equal(server.checkIP('::1'), '::1');
    assert.equal(x509(pki.wrongHost.cert).checkHost('localhost'), undefined);
    assert.match(x509(pki.client.cert).subject, /CN=iotnet-test-client/);
  });

  it('files match the PEM text; the encrypted key needs its passphrase', () => {
    assert.equal(readFileSync(pki.caFile, 'utf8'), pki.ca);
    assert.equal(readFileSync(pki.server.chainFile, 'utf8'), pki.server.chain);
    assert.equal(readFileSync(pki.client.keyFile, 'utf8'), pki.client.key);
    assert.match(pki.clientEncryptedKey, /ENCRYPTED PRIVATE KEY/);
    assert.throws(() => createPrivateKey(pki.clientEncryptedKey));
    const key = createPrivateKey({ key: pki.clientEncryptedKey, passphrase: pki.clientKeyPassphrase });
    assert.ok(x509(pki.client.cert).checkPrivateKey(key));
  });

  it('node:tls accepts the chain and the client certificate', async () => {
    const server = tls.createServer({
      key: pki.server.key, cert: pki.server.chain, ca: pki.ca, requestCert: true, rejectUnauthorized: true,
    }, (s) => s.end(`hello ${(s.getPeerCertificate().subject as { CN?: string }).CN}`));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const port = (server.address() as AddressInfo).port;
      const client = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: pki.ca, key: pki.client.key, cert: pki.client.cert });
      await once(client, 'secureConnect');
      assert.equal(client.authorized, true);
      let text = '';
      client.on('data', (d: Uint8Array) => (text += new TextDecoder().decode(d)));
      await once(client, 'end');
      assert.equal(text, 'hello iotnet-test-client');
      client.destroy();
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('dispose removes the directory', async () => {
    const other = await createTestPki();
    assert.ok(existsSync(other.dir));
    other.dispose();
    other.dispose();
    assert.ok(!existsSync(other.dir));
  });
});
