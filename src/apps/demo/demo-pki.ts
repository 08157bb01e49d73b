/**
 * DEMO-ONLY TLS material of the IoT deployment demo (`iotnet demo`): a demo CA and the
 * certificate of `broker.iot.test` it signed, with the broker's private key.
 *
 * NOT FOR PRODUCTION. The private key is public (it is in this file, in the package and in
 * the repository): anyone can impersonate this "broker". It exists so the demo runs TLS end to
 * end (devices verify the broker's chain against `DEMO_CA_PEM` and its name
 * `broker.iot.test`) without running `openssl` or writing key files at run time.
 *
 * Made once with the openssl CLI (3.0): EC P-256 keys, SHA-256, valid 2025-01-01 to
 * 2125-01-01; the CA is `CN=iotnet demo CA` (basicConstraints CA:TRUE, keyCertSign), the
 * broker `CN=broker.iot.test`, SAN `DNS:broker.iot.test`, serverAuth.
 */

/** The demo CA's certificate: the only root the demo's devices trust. */
export const DEMO_CA_PEM = `
-----BEGIN CERTIFICATE-----
MIIB0TCCAXigAwIBAgICEAAwCgYIKoZIzj0EAwIwTzE0MDIGA1UECgwraW90bmV0
IGRlbW8gKGRlbW8gb25seSwgbm90IGZvciBwcm9kdWN0aW9uKTEXMBUGA1UEAwwO
aW90bmV0IGRlbW8gQ0EwIBcNMjUwMTAxMDAwMDAwWhgPMjEyNTAxMDEwMDAwMDBa
ME8xNDAyBgNVBAoMK2lvdG5ldCBkZW1vIChkZW1vIG9ubHksIG5vdCBmb3IgcHJv
ZHVjdGlvbikxFzAVBgNVBAMMDmlvdG5ldCBkZW1vIENBMFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAECr475e4JVZk+D/PgrI1ErfTC8xu5/FE8U+wHKMzxP9Y2F3K1
pyZO4CYKd5bFhusOo1zMa/xKG19zrKRFmpf3M6NCMEAwDwYDVR0TAQH/BAUwAwEB
/zAOBgNVHQ8BAf8EBAMCAQYwHQYDVR0OBBYEFC/MSLcDEHklnMhe73BvyCgWAtXP
MAoGCCqGSM49BAMCA0cAMEQCIA1B1RW8rt9saEnl1iyrPEUa/uSknsqGJCBCq8Fi
qjPCAiAYuNsUT7peataaNw7LI9WbJkxi/iqPQF8/V3LuTaK9OA==
-----END CERTIFICATE-----
`.trimStart();

/** The broker certificate (CN and SAN `broker.iot.test`), signed by the demo CA. */
export const DEMO_BROKER_CERT_PEM = `
-----BEGIN CERTIFICATE-----
MIICETCCAbagAwIBAgICEAEwCgYIKoZIzj0EAwIwTzE0MDIGA1UECgwraW90bmV0
IGRlbW8gKGRlbW8gb25seSwgbm90IGZvciBwcm9kdWN0aW9uKTEXMBUGA1UEAwwO
aW90bmV0IGRlbW8gQ0EwIBcNMjUwMTAxMDAwMDAwWhgPMjEyNTAxMDEwMDAwMDBa
MDwxIDAeBgNVBAoMF2lvdG5ldCBkZW1vIChkZW1vIG9ubHkpMRgwFgYDVQQDDA9i
cm9rZXIuaW90LnRlc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQvv4J62KE3
+LLElWeMkM3nuWm95kyCzg56Z9OTpSnyu6lr5r+IKIwJdDAh5Xa0LP7Q9LMjSY7F
Nmr1Jll3/THho4GSMIGPMBoGA1UdEQQTMBGCD2Jyb2tlci5pb3QudGVzdDAMBgNV
HRMBAf8EAjAAMA4GA1UdDwEB/wQEAwIHgDATBgNVHSUEDDAKBggrBgEFBQcDATAf
BgNVHSMEGDAWgBQvzEi3AxB5JZzIXu9wb8goFgLVzzAdBgNVHQ4EFgQUC5aYK3qf
9uRSxm+0H8lf92OZ2agwCgYIKoZIzj0EAwIDSQAwRgIhAPhX0pxkeRQ6W42tT/1z
gBLw10L5GUhwT+ST5AO0HHZ0AiEAv1kYZPyVisuIjF53E8Ag7/nSFUPFRb6/QJ0m
rodsPDU=
-----END CERTIFICATE-----
`.trimStart();

/** The broker certificate's private key (PKCS #8, EC P-256). DEMO ONLY: published, so worthless as a secret. */
export const DEMO_BROKER_KEY_PEM = `
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgJnEvBCHmwLdtZGUg
uGGTqGHnbyMsL5a2NSlCgtiHnHmhRANCAAQvv4J62KE3+LLElWeMkM3nuWm95kyC
zg56Z9OTpSnyu6lr5r+IKIwJdDAh5Xa0LP7Q9LMjSY7FNmr1Jll3/THh
-----END PRIVATE KEY-----
`.trimStart();

/** The name the broker certificate is for. */
export const DEMO_BROKER_NAME = 'broker.iot.test';
