/**
 * A throw-away PKI for TLS tests, made with the `openssl` CLI into a temporary directory
 * (EC P-256 keys, SHA-256, a few hundred ms in all):
 *
 * Leaf certificates are valid from a day ago for 30 days unless said otherwise.
 *
 * ```
 * root CA ─┬─ intermediate CA ─┬─ server        (localhost, 127.0.0.1, ::1 + serverSans)
 *          │                   ├─ expired       (valid 2020-01-01 .. 2020-02-01)
 *          │                   ├─ notYetValid   (valid from 2099-01-01)
 *          │                   └─ wrongHost     (wrong.example only)
 *          ├─ client        (clientAuth, CN iotnet-test-client; also with an encrypted key)
 *          ├─ clients[cn]   (clientAuth, one per `clientNames` entry, CN as given)
 * selfSigned                     (localhost, 127.0.0.1, ::1: its own issuer)
 * untrusted CA ─┬─ untrustedServer (localhost, 127.0.0.1, ::1)
 *               └─ untrustedClient (clientAuth)
 * ```
 *
 * Trust `pki.ca` (the root) on the verifying side. Servers present `chain` (leaf then
 * intermediate) so that only the root needs to be trusted; clients are signed by the root
 * directly, so a server trusting the root (mosquitto `cafile`) verifies them without a
 * chain. Every item has its PEM text and its file path (for configs such as mosquitto's
 * `certfile`/`keyfile`/`cafile`). Call `dispose()` to delete the directory.
 *
 * ```ts
 * const pki = await createTestPki();
 * tls.createServer({ key: pki.server.key, cert: pki.server.chain }, ...);
 * tls.connect({ ..., ca: pki.ca });
 * pki.dispose();
 * ```
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A certificate and its private key, as PEM text and as files. */
export interface PemPair {
  readonly cert: string;
  readonly key: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** A leaf certificate with the chain a peer presents (leaf, then intermediate if any). */
export interface LeafPair extends PemPair {
  /** PEM of the leaf followed by its issuing intermediate (the leaf alone when issued by a root). */
  readonly chain: string;
  readonly chainFile: string;
}

/** Options of `createTestPki`. */
export interface TestPkiOptions {
  /**
   * More subject alternative names for `server` (and the other server certificates
   * that cover "our" host: expired, notYetValid, selfSigned, untrustedServer): DNS
   * names or IP literals (`'10.0.0.2'`, `'fd00::2'`, `'broker.test'`).
   */
  readonly serverSans?: readonly string[];
  /** Directory to create the files in (default: a new directory under the OS temp dir). */
  readonly dir?: string;
  /**
   * Common names of more client certificates (clientAuth, issued by the root like
   * `client`), in `clients` under their CN: device identities such as a thing name
   * that a broker maps to a user name. Letters, digits and `._:-` only.
   */
  readonly clientNames?: readonly string[];
}

export interface TestPki {
  /** Directory holding every file. */
  readonly dir: string;
  /** PEM of the root CA: what a verifying peer trusts (`ca`). */
  readonly ca: string;
  readonly caFile: string;
  readonly root: PemPair;
  readonly intermediate: PemPair;
  /** Server certificate for localhost/127.0.0.1/::1 (+ `serverSans`), issued by the intermediate. */
  readonly server: LeafPair;
  /** As `server`, but its validity ended in 2020. */
  readonly expired: LeafPair;
  /** As `server`, but valid only from 2099. */
  readonly notYetValid: LeafPair;
  /** Issued by the intermediate for `wrong.example` only. */
  readonly wrongHost: LeafPair;
  /** Self-signed, for the server's names. */
  readonly selfSigned: LeafPair;
  /** A second root nobody trusts. */
  readonly untrustedCa: PemPair;
  /** Server certificate for our names from the untrusted CA. */
  readonly untrustedServer: LeafPair;
  /** Client certificate (clientAuth, CN `iotnet-test-client`) issued by the root. */
  readonly client: LeafPair;
  /** The client's key encrypted (AES-256, PKCS#8) with `clientKeyPassphrase`. */
  readonly clientEncryptedKey: string;
  readonly clientEncryptedKeyFile: string;
  readonly clientKeyPassphrase: string;
  /** Client certificate from the untrusted CA. */
  readonly untrustedClient: LeafPair;
  /** The client certificates of `clientNames`, by common name (empty without). */
  readonly clients: Readonly<Record<string, LeafPair>>;
  /** Deletes the directory (idempotent). */
  dispose(): void;
}

const CA_EXT = [
  'basicConstraints=critical,CA:true',
  'keyUsage=critical,keyCertSign,cRLSign',
  'subjectKeyIdentifier=hash',
];

const DAY_MS = 86_400_000;

/** `YYYYMMDDHHMMSSZ`, the form `openssl ca -startdate/-enddate` takes. */
function asn1Time(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');
}

const DEFAULT_SANS = ['localhost', '127.0.0.1', '::1'];

function sanText(names: readonly string[]): string {
  return names.map((n) => (/^[0-9.]+$/.test(n) || n.includes(':') ? `IP:${n}` : `DNS:${n}`)).join(',');
}

/** Builds the PKI described in the module comment. Needs `openssl` (1.1.1 or 3.x) on PATH. */
export async function createTestPki(options: TestPkiOptions = {}): Promise<TestPki> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'iotnet-pki-'));
  const path = (name: string): string => join(dir, name);
  const read = (name: string): string => readFileSync(path(name), 'utf8');
  const ours = sanText([...DEFAULT_SANS, ...(options.serverSans ?? [])]);
  let issuers = 0;
  const now = Date.now();

  // `openssl ca` needs a small database; one per issuer keeps serials apart.
  const caConfig = (name: string): string => {
    const db = path(`${name}.db`);
    writeFileSync(db, '');
    // Serials from a file (`-rand_serial` and `-set_serial` are not in every version).
    writeFileSync(path(`${name}.srl`), `${(0x1000 + 0x100 * issuers++).toString(16)}\n`);
    const cnf = path(`${name}.cnf`);
    writeFileSync(cnf, [
      '[ca]', 'default_ca = this',
      '[this]',
      `database = ${db}`,
      `serial = ${path(`${name}.srl`)}`,
      `new_certs_dir = ${dir}`,
      'default_md = sha256',
      'policy = any',
      'unique_subject = no',
      'copy_extensions = none',
      'email_in_dn = no',
      '[any]', 'commonName = supplied',
      '',
    ].join('\n'));
    return cnf;
  };

  const newKey = async (name: string): Promise<void> => {
    await run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path(`${name}.key`)]);
  };

  const selfSignedCert = async (name: string, cn: string, ext: readonly string[]): Promise<PemPair> => {
    await newKey(name);
    await run('openssl', [
      'req', '-x509', '-new', '-key', path(`${name}.key`), '-out', path(`${name}.crt`), '-days', '30',
      '-subj', `/CN=${cn}`, '-sha256', ...ext.flatMap((e) => ['-addext', e]),
    ]);
    return pair(name);
  };

  const pair = (name: string): PemPair => ({
    cert: read(`${name}.crt`),
    key: read(`${name}.key`),
    certFile: path(`${name}.crt`),
    keyFile: path(`${name}.key`),
  });

  interface Issue {
    readonly issuer: string;
    readonly issuerCnf: string;
    readonly cn: string;
    readonly ext: readonly string[];
    readonly start?: string;
    readonly end?: string;
    /** Chain member after the leaf (the intermediate's cert file), if any. */
    readonly chainWith?: string;
  }

  const issue = async (name: string, o: Issue): Promise<LeafPair> => {
    await newKey(name);
    await run('openssl', ['req', '-new', '-key', path(`${name}.key`), '-out', path(`${name}.csr`), '-subj', `/CN=${o.cn}`]);
    writeFileSync(path(`${name}.ext`), `[v3]\n${o.ext.join('\n')}\n`);
    const dates = ['-startdate', o.start ?? asn1Time(now - DAY_MS), '-enddate', o.end ?? asn1Time(now + 30 * DAY_MS)];
    await run('openssl', [
      'ca', '-batch', '-notext', '-config', o.issuerCnf,
      '-cert', path(`${o.issuer}.crt`), '-keyfile', path(`${o.issuer}.key`),
      '-in', path(`${name}.csr`), '-out', path(`${name}.crt`),
      '-extfile', path(`${name}.ext`), '-extensions', 'v3', ...dates,
    ]);
    const leaf = pair(name);
    const chain = o.chainWith !== undefined ? leaf.cert + readFileSync(o.chainWith, 'utf8') : leaf.cert;
    writeFileSync(path(`${name}-chain.pem`), chain);
    return { ...leaf, chain, chainFile: path(`${name}-chain.pem`) };
  };

  try {
    const root = await selfSignedCert('root', 'iotnet Test Root CA', [...CA_EXT]);
    const rootCnf = caConfig('root');
    const untrustedCa = await selfSignedCert('untrusted-ca', 'iotnet Untrusted CA', [...CA_EXT]);
    const untrustedCnf = caConfig('untrusted-ca');

    const intermediateLeaf = await issue('intermediate', {
      issuer: 'root', issuerCnf: rootCnf, cn: 'iotnet Test Intermediate CA',
      ext: ['basicConstraints=critical,CA:true,pathlen:0', 'keyUsage=critical,keyCertSign,cRLSign',
        'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid:always'],
    });
    const intermediate: PemPair = {
      cert: intermediateLeaf.cert, key: intermediateLeaf.key,
      certFile: intermediateLeaf.certFile, keyFile: intermediateLeaf.keyFile,
    };
    const interCnf = caConfig('intermediate');

    const serverExt = (sans: string): string[] => [
      'basicConstraints=critical,CA:false', 'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth', `subjectAltName=${sans}`, 'authorityKeyIdentifier=keyid:always',
    ];
    const clientExt = [
      'basicConstraints=critical,CA:false', 'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=clientAuth', 'authorityKeyIdentifier=keyid:always',
    ];
    const viaIntermediate = { issuer: 'intermediate', issuerCnf: interCnf, chainWith: intermediate.certFile };

    const server = await issue('server', { ...viaIntermediate, cn: 'localhost', ext: serverExt(ours) });
    const expired = await issue('expired', {
      ...viaIntermediate, cn: 'localhost', ext: serverExt(ours), start: '20200101000000Z', end: '20200201000000Z',
    });
    const notYetValid = await issue('not-yet-valid', {
      ...viaIntermediate, cn: 'localhost', ext: serverExt(ours), start: '20990101000000Z', end: '20991231000000Z',
    });
    const wrongHost = await issue('wrong-host', { ...viaIntermediate, cn: 'wrong.example', ext: serverExt('DNS:wrong.example') });
    const untrustedServer = await issue('untrusted-server', {
      issuer: 'untrusted-ca', issuerCnf: untrustedCnf, cn: 'localhost', ext: serverExt(ours),
    });
    const client = await issue('client', { issuer: 'root', issuerCnf: rootCnf, cn: 'iotnet-test-client', ext: clientExt });
    const untrustedClient = await issue('untrusted-client', {
      issuer: 'untrusted-ca', issuerCnf: untrustedCnf, cn: 'iotnet-test-client', ext: clientExt,
    });

    const clients: Record<string, LeafPair> = {};
    for (const [i, cn] of (options.clientNames ?? []).entries()) {
      if (!/^[A-Za-z0-9._:-]{1,64}$/.test(cn)) throw new RangeError(`client name ${JSON.stringify(cn)}: letters, digits and ._:- only`);
      if (Object.hasOwn(clients, cn)) throw new RangeError(`client name ${cn} given twice`);
      clients[cn] = await issue(`client-extra-${i}`, { issuer: 'root', issuerCnf: rootCnf, cn, ext: clientExt });
    }

    const selfPair = await selfSignedCert('self-signed', 'localhost', [
      'basicConstraints=critical,CA:false', 'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth', `subjectAltName=${ours}`,
    ]);
    const selfSigned: LeafPair = { ...selfPair, chain: selfPair.cert, chainFile: selfPair.certFile };

    const clientKeyPassphrase = 'iotnet-test-passphrase';
    await run('openssl', [
      'pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-in', client.keyFile,
      '-out', path('client-encrypted.key'), '-passout', `pass:${clientKeyPassphrase}`,
    ]);

    let disposed = false;
    return {
      dir,
      ca: root.cert,
      caFile: root.certFile,
      root,
      intermediate,
      server,
      expired,
      notYetValid,
      wrongHost,
      selfSigned,
      untrustedCa,
      untrustedServer,
      client,
      clientEncryptedKey: read('client-encrypted.key'),
      clientEncryptedKeyFile: path('client-encrypted.key'),
      clientKeyPassphrase,
      untrustedClient,
      clients,
      dispose() {
        if (disposed) return;
        disposed = true;
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    if (options.dir === undefined) rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
