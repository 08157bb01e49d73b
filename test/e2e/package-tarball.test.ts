/**
 * The npm package as a user gets it: `npm run build`, `npm pack` into a temporary folder,
 * the tarball's file list (built JavaScript and declarations, the CLI, README, LICENSE,
 * NOTICE, CHANGELOG and nothing else), an install into an empty folder, and there
 * `npx iotnet --help` (and each command's), an ESM import of every entry point in the
 * installed package.json's `exports`, a TypeScript type-check of a consumer importing each
 * of them, what the missing native addons do, and the IoT demo run to its end (in the
 * background while the other checks run).
 *
 * The install is offline and pinned: the empty folder gets a package-lock.json naming
 * the tarball and, for its dependencies, the same versions as this checkout's lock (the
 * npm cache holds them after `npm ci`), and `npm ci --offline` installs it. A plain
 * `npm install --offline <tgz>` would resolve the ranges afresh against whatever package
 * metadata the cache holds and could ask for versions it never downloaded. When the
 * pinned install fails, the test says so and falls back to
 * `npm install --prefer-offline <tgz>` (which may use the network).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

const root = new URL('../..', import.meta.url).pathname;
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

/** The package.json fields this test reads. */
interface Manifest {
  name: string;
  version: string;
  bin?: Record<string, string>;
  exports: Record<string, string | Record<string, string>>;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  scripts?: Record<string, string>;
  files?: string[];
}

/** One `packages` entry of a lockfile v3. */
interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  [field: string]: unknown;
}
interface Lockfile {
  lockfileVersion: number;
  packages: Record<string, LockEntry>;
}

/** `npm pack --json` output (the fields used here). */
interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  integrity: string;
  files: { path: string; size: number }[];
}

/** A known runtime export of each entry point, checked after import (others: any export at all). */
const KNOWN_EXPORT: Readonly<Record<string, string>> = {
  '.': 'Network',
  './iot-socket': 'iotSocketCreate',
  './host': 'hostSocketApi',
  './userspace': 'Stack',
  './links': 'createCable',
  './at': 'createModuleBackend',
  './netif': 'Mux',
  './tls': 'connectTls',
  './mqtt': 'MqttClient',
  './cloud': 'awsIotCore',
  './http': 'IotnetHttpAgent',
  './browser': 'WebSocketLink',
};

function run(cmd: string, args: readonly string[], cwd: string, timeout = 180_000, env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    timeout,
    env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false', ...env },
  });
}
function ok(r: SpawnSyncReturns<string>, what: string): string {
  assert.equal(r.status, 0, `${what}: exit ${r.status ?? r.signal}${r.error ? ` (${r.error.message})` : ''}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** `iotnet` for '.', else `iotnet/<sub>` for './<sub>'. */
function specifier(name: string, entry: string): string {
  return entry === '.' ? name : `${name}/${entry.slice(2)}`;
}
/** The entry points in an `exports` map, without './package.json'. */
function entryPoints(m: Manifest): string[] {
  return Object.keys(m.exports).filter((k) => k !== './package.json');
}

/**
 * The lockfile entries of `deps` and everything they need, found in `lock` by Node's
 * resolution from `from` (the folder the dependent lives in): its own node_modules, then
 * its ancestors' up to the root's.
 */
function closure(lock: Lockfile, deps: readonly string[]): Map<string, LockEntry> {
  const found = new Map<string, LockEntry>();
  const resolve = (from: string, name: string): string | undefined => {
    for (let base = from; ; ) {
      const path = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`;
      if (lock.packages[path] !== undefined) return path;
      if (base === '') return undefined;
      const i = base.lastIndexOf('/node_modules/');
      base = i < 0 ? '' : base.slice(0, i);
    }
  };
  const visit = (from: string, name: string, required: boolean): void => {
    const path = resolve(from, name);
    if (path === undefined) {
      assert.ok(!required, `package-lock.json has no entry for ${name} (needed from '${from || 'the root'}')`);
      return;
    }
    if (found.has(path)) return;
    const entry = lock.packages[path] as LockEntry;
    found.set(path, entry);
    for (const d of Object.keys(entry.dependencies ?? {})) visit(path, d, true);
    for (const d of Object.keys(entry.optionalDependencies ?? {})) visit(path, d, false);
    for (const d of Object.keys(entry.peerDependencies ?? {})) visit(path, d, false);
  };
  for (const d of deps) visit('', d, true);
  return found;
}

/** A lockfile for a folder whose one dependency is the tarball, its dependencies pinned as in `devLock`. */
function consumerLock(devLock: Lockfile, pkg: Manifest, tgz: string, integrity: string): object {
  const packages: Record<string, LockEntry> = {
    '': { name: 'iotnet-consumer', version: '1.0.0', dependencies: { [pkg.name]: `file:${tgz}` } },
    [`node_modules/${pkg.name}`]: {
      version: pkg.version,
      resolved: `file:${tgz}`,
      integrity,
      ...(pkg.dependencies !== undefined ? { dependencies: pkg.dependencies } : {}),
      ...(pkg.optionalDependencies !== undefined ? { optionalDependencies: pkg.optionalDependencies } : {}),
      ...(pkg.bin !== undefined ? { bin: pkg.bin } : {}),
    },
  };
  const deps = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})];
  for (const [path, entry] of closure(devLock, deps)) {
    const { dev: _dev, devOptional, ...rest } = entry;
    packages[path] = devOptional === true ? { ...rest, optional: true } : rest;
  }
  return { name: 'iotnet-consumer', version: '1.0.0', lockfileVersion: 3, requires: true, packages };
}

/** A child's outcome, for one started in the background. */
interface Finished {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}
/**
 * Starts `cmd` with its output going to files (the other checks block the event loop in
 * spawnSync; a pipe left undrained could stall the child) and resolves when it ends (killed
 * after `timeout` ms); `child.kill()` ends it early.
 */
function start(cmd: string, args: readonly string[], cwd: string, outBase: string, timeout: number): { child: ChildProcess; done: Promise<Finished> } {
  const out = openSync(`${outBase}.stdout`, 'w');
  const err = openSync(`${outBase}.stderr`, 'w');
  const child = spawn(cmd, args, { cwd, stdio: ['ignore', out, err], timeout });
  closeSync(out);
  closeSync(err);
  const done = new Promise<Finished>((resolve) => child.on('close', (status, signal) => {
    resolve({ status, signal, stdout: readFileSync(`${outBase}.stdout`, 'utf8'), stderr: readFileSync(`${outBase}.stderr`, 'utf8') });
  }));
  return { child, done };
}

/** `npx iotnet ...args` in `cwd`, as a user types it (offline: the package is installed there). */
function npxIotnet(cwd: string, ...args: string[]): SpawnSyncReturns<string> {
  return run(npx, ['iotnet', ...args], cwd, 60_000, { npm_config_offline: 'true', npm_config_yes: 'false' });
}
/** The installed bin link (node_modules/.bin/iotnet) run by node: what npx runs, without npm's start-up time. */
function binIotnet(cwd: string, timeout: number, ...args: string[]): SpawnSyncReturns<string> {
  return run(process.execPath, [join(cwd, 'node_modules', '.bin', 'iotnet'), ...args], cwd, timeout);
}

describe('npm package: npm pack -> install into an empty folder -> CLI, imports, types', { timeout: 600_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'iotnet-package-'));
  const consumer = join(work, 'consumer');
  const devPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Manifest;
  let pack: PackResult;
  let installed: Manifest;
  let installError: string | undefined;
  let demo: { child: ChildProcess; done: Promise<Finished> } | undefined;

  before(() => {
    const t0 = Date.now();
    ok(run(process.execPath, [join(root, 'scripts', 'build.mjs'), '--quiet'], root, 300_000), 'npm run build');
    const t1 = Date.now();
    // --ignore-scripts: the build just ran (prepack would run it again) and `prepare` (the
    // native addons of the development checkout) does not concern the package.
    const out = ok(run(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', work], root), 'npm pack');
    const packed = JSON.parse(out.slice(out.indexOf('['))) as PackResult[];
    assert.equal(packed.length, 1);
    pack = packed[0] as PackResult;
    const tgz = join(work, pack.filename);
    assert.ok(existsSync(tgz), `${tgz} exists`);
    const t2 = Date.now();

    // An empty folder with a lockfile naming the tarball (relative, as npm writes it).
    mkdirSync(consumer);
    writeFileSync(join(consumer, 'package.json'), `${JSON.stringify({ name: 'iotnet-consumer', version: '1.0.0', private: true, dependencies: { [devPkg.name]: `file:../${pack.filename}` } }, null, 2)}\n`);
    const devLock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as Lockfile;
    assert.equal(devLock.lockfileVersion, 3);
    writeFileSync(join(consumer, 'package-lock.json'), `${JSON.stringify(consumerLock(devLock, devPkg, `../${pack.filename}`, pack.integrity), null, 2)}\n`);
    let how = 'npm ci --offline (lock pinned to the checkout)';
    const pinned = run(npm, ['ci', '--offline'], consumer);
    if (pinned.status !== 0) {
      how = 'npm install --prefer-offline <tgz> (FALLBACK: the pinned offline install failed)';
      process.stderr.write(`\n!!!!!!!! package-tarball: npm ci --offline failed, falling back to npm install --prefer-offline:\n${pinned.stderr.slice(-2000)}\n`);
      rmSync(join(consumer, 'package-lock.json'), { force: true });
      rmSync(join(consumer, 'node_modules'), { recursive: true, force: true });
      writeFileSync(join(consumer, 'package.json'), `${JSON.stringify({ name: 'iotnet-consumer', version: '1.0.0', private: true }, null, 2)}\n`);
      const fallback = run(npm, ['install', '--prefer-offline', tgz], consumer);
      if (fallback.status !== 0) installError = `npm install ${tgz} failed:\n${fallback.stdout}\n${fallback.stderr}`;
    }
    const t3 = Date.now();
    process.stdout.write(`package-tarball: build ${t1 - t0} ms, pack ${t2 - t1} ms, install (${how}) ${t3 - t2} ms; ${pack.filename} ${pack.size} bytes, ${pack.entryCount} files, ${pack.unpackedSize} bytes unpacked\n`);
    if (installError === undefined) {
      installed = JSON.parse(readFileSync(join(consumer, 'node_modules', devPkg.name, 'package.json'), 'utf8')) as Manifest;
      // The demo runs in real time (~30 s, mostly waiting): started now, checked by the last test.
      // With the in-process broker, aedes (a dependency for just this) is exercised too, and
      // with --ui the dashboard from the package's prebuilt bundle (dist/ui/).
      demo = start(process.execPath, [join(consumer, 'node_modules', '.bin', 'iotnet'), 'demo', '--broker', 'aedes', '--ui', '--ui-linger', '0', '--pcap-dir', join(work, 'pcap')], consumer, join(work, 'demo'), 180_000);
    }
  });

  after(async () => {
    if (demo !== undefined && demo.child.exitCode === null && demo.child.signalCode === null) {
      demo.child.kill();
      await demo.done;
    }
    rmSync(work, { recursive: true, force: true });
  });

  it('the tarball holds the built JavaScript and declarations, the CLI, README, LICENSE, NOTICE, CHANGELOG: nothing else', () => {
    const paths = pack.files.map((f) => f.path).sort();
    const top = ['package.json', 'README.md', 'LICENSE', 'NOTICE', 'CHANGELOG.md', 'bin/iotnet.js'];
    for (const p of top) assert.ok(paths.includes(p), `${p} is in the tarball`);
    // dist/ui and dist/browser: the dashboard page and the browser bundle (web assets).
    const web = /^dist\/(ui|browser)\/[^]*\.(html|css|js|mjs|svg|png|ico|json|woff2?|txt)$/;
    const unexpected = paths.filter((p) => !top.includes(p) && !/^dist\/[^]*\.(js|d\.ts)$/.test(p) && !web.test(p));
    assert.deepEqual(unexpected, [], 'files outside dist/**/*.js|*.d.ts and the top-level files');
    for (const p of paths) assert.doesNotMatch(p, /(^|\/)(src|test|bench|native|scripts|docs|web)\//, `${p}: no sources, tests or native code`);
    // Every compiled module has its declaration (web bundles aside).
    const js = paths.filter((p) => /^dist\/[^]*\.js$/.test(p) && !web.test(p));
    const missingDts = js.filter((p) => !paths.includes(p.replace(/\.js$/, '.d.ts')));
    assert.deepEqual(missingDts, [], 'a .d.ts beside each .js');
    assert.ok(js.length > 100, `${js.length} modules in dist/`);
    // LICENSE is the full Apache License 2.0.
    const license = readFileSync(join(root, 'LICENSE'), 'utf8');
    assert.match(license, /Apache License\s+Version 2\.0, January 2004/);
    assert.match(license, /END OF TERMS AND CONDITIONS/);
  });

  it('package.json: every entry point has types, import and default in dist/ (all in the tarball); the checkout maps the same entries to src/', () => {
    const paths = new Set(pack.files.map((f) => f.path));
    const tsconfig = readFileSync(join(root, 'tsconfig.json'), 'utf8');
    const tsPaths = (JSON.parse(tsconfig.replace(/^\s*\/\/.*$/gm, '')) as { compilerOptions: { paths: Record<string, string[]> } }).compilerOptions.paths;
    assert.equal(devPkg.exports['./package.json'], './package.json');
    const entries = entryPoints(devPkg);
    for (const e of Object.keys(KNOWN_EXPORT)) {
      assert.ok(entries.includes(e), `exports has ${e}`);
    }
    for (const e of entries) {
      const target = devPkg.exports[e];
      assert.ok(typeof target === 'object', `${e}: conditions`);
      // iotnet/browser: bundlers that set the 'browser' condition get the prebuilt bundle
      // (Node built-ins replaced), everything else the plain module.
      const conditions = e === './browser' ? ['types', 'browser', 'import', 'default'] : ['types', 'import', 'default'];
      assert.deepEqual(Object.keys(target), conditions, `${e}: types first, then ${conditions.slice(1).join(', ')}`);
      if (e === './browser') assert.ok(paths.has((target.browser as string).slice(2)), 'the browser bundle is packed');
      const js = target.import as string;
      assert.match(js, /^\.\/dist\/[^]*\.js$/);
      assert.equal(target.default, js);
      assert.equal(target.types, js.replace(/\.js$/, '.d.ts'));
      assert.ok(paths.has(js.slice(2)) && paths.has((target.types as string).slice(2)), `${e}: ${js} and its .d.ts are packed`);
      // The development checkout (tsc, tsx) resolves the same specifier to the source.
      const source = `./src/${js.slice('./dist/'.length).replace(/\.js$/, '.ts')}`;
      assert.deepEqual(tsPaths[specifier(devPkg.name, e)], [source], `tsconfig.json paths for ${specifier(devPkg.name, e)}`);
      assert.ok(existsSync(join(root, source)), source);
    }
    assert.equal(Object.keys(tsPaths).length, entries.length, 'tsconfig.json paths: one per entry point, no more');
    // Packing runs the build; installing the package runs no script (the native build is `prepare`: checkout only).
    assert.equal(devPkg.scripts?.prepack, 'node scripts/build.mjs');
    for (const s of ['preinstall', 'install', 'postinstall']) assert.equal(devPkg.scripts?.[s], undefined, `no ${s} script`);
  });

  it('installs from the tarball into an empty folder, with only runtime dependencies', () => {
    assert.equal(installError, undefined, installError);
    assert.equal(installed.version, devPkg.version);
    for (const dep of Object.keys(installed.dependencies ?? {})) {
      assert.ok(existsSync(join(consumer, 'node_modules', dep, 'package.json')), `dependency ${dep} installed`);
    }
    for (const dev of ['tsx', 'typescript', 'eslint', 'fast-check']) {
      assert.ok(!existsSync(join(consumer, 'node_modules', dev)), `dev dependency ${dev} not installed`);
    }
    assert.ok(!existsSync(join(consumer, 'node_modules', devPkg.name, 'src')), 'no src/ in the installed package');
  });

  it('iotnet demo --ui serves the dashboard from the package: the page and the prebuilt bundle (dist/ui), the live snapshot', async () => {
    assert.equal(installError, undefined, installError);
    assert.ok(demo !== undefined);
    const deadline = Date.now() + 90_000;
    let url: string | undefined;
    while (url === undefined) {
      url = /dashboard: (http:\/\/\S+)/.exec(readFileSync(join(work, 'demo.stdout'), 'utf8'))?.[1];
      if (url !== undefined) break;
      assert.ok(demo.child.exitCode === null && Date.now() < deadline, `no dashboard address printed:\n${readFileSync(join(work, 'demo.stdout'), 'utf8')}\n${readFileSync(join(work, 'demo.stderr'), 'utf8')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const base = url.endsWith('/') ? url : `${url}/`;
    const page = await fetch(base);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /dashboard\.js/);
    const ui = join(consumer, 'node_modules', installed.name, 'dist', 'ui');
    for (const asset of ['dashboard.js', 'dashboard.css']) {
      const r = await fetch(`${base}${asset}`);
      assert.equal(r.status, 200, asset);
      assert.equal(await r.text(), readFileSync(join(ui, asset), 'utf8'), `${asset} is the packaged prebuilt one`);
    }
    const snapshot = (await (await fetch(`${base}snapshot.json`)).json()) as { nodes?: unknown[] };
    assert.ok(Array.isArray(snapshot.nodes) && snapshot.nodes.length > 0, 'the snapshot has the nodes');
  });

  it('npx iotnet --help lists the commands (exit 0); each command has --help; an unknown command exits 2', () => {
    assert.equal(installError, undefined, installError);
    const help = ok(npxIotnet(consumer, '--help'), 'npx iotnet --help');
    assert.match(help, /^Usage: iotnet <command>/m);
    const commands = [...help.matchAll(/^ {2}([a-z][a-z0-9-]*) {2,}\S/gm)].map((m) => m[1] as string);
    assert.ok(commands.includes('demo') && commands.includes('sockserver'), `commands listed: ${commands.join(', ')}`);
    for (const c of commands) {
      const r = ok(binIotnet(consumer, 60_000, c, '--help'), `iotnet ${c} --help`);
      assert.match(r, new RegExp(`iotnet ${c}`), `${c} --help shows its usage`);
    }
    const bad = binIotnet(consumer, 60_000, 'no-such-command');
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /unknown command 'no-such-command'/);
    if (/--version/.test(help)) {
      const v = ok(npxIotnet(consumer, '--version'), 'npx iotnet --version');
      assert.match(v, new RegExp(installed.version.replace(/\./g, '\\.')));
    }
  });

  it('without native code (the package ships none): the TAP link and pty simulators fail saying why, nothing else is affected', () => {
    assert.equal(installError, undefined, installError);
    assert.ok(!pack.files.some((f) => f.path.endsWith('.node')), 'no compiled addon in the tarball');
    const sim = binIotnet(consumer, 60_000, 'sim', 'esp-at');
    assert.equal(sim.status, 1, `iotnet sim esp-at: exit ${sim.status ?? sim.signal}\n${sim.stdout}\n${sim.stderr}`);
    assert.match(sim.stderr, /pty/, 'the error names the missing pty support');
    const script = `import { TapLink } from '${installed.name}/links';
try { TapLink.open('iotnet-none0'); process.stdout.write('opened'); } catch (e) { process.stdout.write(String(e.code) + ' ' + e.message); }
process.exit(0);
`;
    writeFileSync(join(consumer, 'tap-open.mjs'), script);
    const tap = ok(run(process.execPath, ['tap-open.mjs'], consumer, 60_000), 'TapLink.open without the addon');
    assert.match(tap, /^ENOTSUP .*TAP/, 'TapLink.open: ENOTSUP naming the TAP addon');
  });

  it('imports every entry point of the installed package (ESM) with its exports', () => {
    assert.equal(installError, undefined, installError);
    const entries = entryPoints(installed);
    const script = `const out = {};
for (const spec of ${JSON.stringify(entries.map((e) => specifier(installed.name, e)))}) {
  const m = await import(spec);
  out[spec] = Object.keys(m);
}
process.stdout.write(JSON.stringify(out));
process.exit(0);
`;
    writeFileSync(join(consumer, 'import-all.mjs'), script);
    const found = JSON.parse(ok(run(process.execPath, ['import-all.mjs'], consumer, 60_000), 'import every entry point')) as Record<string, string[]>;
    for (const e of entries) {
      const names = found[specifier(installed.name, e)] ?? [];
      const known = KNOWN_EXPORT[e];
      if (known !== undefined) assert.ok(names.includes(known), `${specifier(installed.name, e)} exports ${known}`);
      else assert.ok(names.length > 0, `${specifier(installed.name, e)} exports something`);
    }
    const pkgJson = ok(run(process.execPath, ['--input-type=module', '-e', `import p from '${installed.name}/package.json' with { type: 'json' }; process.stdout.write(p.version);`], consumer, 60_000), 'import package.json');
    assert.equal(pkgJson, installed.version);
  });

  it('type-checks a TypeScript consumer importing every entry point (module nodenext, declarations resolve, not any)', () => {
    assert.equal(installError, undefined, installError);
    const entries = entryPoints(installed);
    const lines = entries.map((e, i) => `import * as entry${i} from '${specifier(installed.name, e)}';`);
    entries.forEach((e, i) => {
      const known = KNOWN_EXPORT[e];
      if (known !== undefined) lines.push(`export const known${i}: typeof entry${i}.${known} = entry${i}.${known};`);
      // A typed module (not \`any\`) rejects a name it does not export.
      lines.push(`// @ts-expect-error: ${specifier(installed.name, e)} has no such export`, `export const missing${i} = entry${i}.noSuchExportAnywhere;`);
    });
    lines.push(
      `import { connect, type TcpSocket } from '${installed.name}';`,
      'export async function hello(): Promise<TcpSocket> { return connect(\'127.0.0.1:7\', { timeoutMs: 1000 }); }',
      `import { iotSocketCreate, IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, IOT_SOCKET_IPPROTO_TCP } from '${installed.name}/iot-socket';`,
      'export const sock: Promise<number> = iotSocketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, IOT_SOCKET_IPPROTO_TCP);',
    );
    writeFileSync(join(consumer, 'consumer.mts'), `${lines.join('\n')}\n`);
    writeFileSync(join(consumer, 'tsconfig.json'), `${JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true,
        // Check the installed declarations themselves, not only their use here.
        skipLibCheck: false, types: ['node'],
      },
      files: ['consumer.mts'],
    }, null, 2)}\n`);
    const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
    ok(run(process.execPath, [tsc, '-p', 'tsconfig.json'], consumer, 180_000), 'tsc on the consumer');
  });

  it('iotnet demo (the IoT deployment, broker aedes) runs to the end from the installed package: exit 0, no message lost', async () => {
    assert.equal(installError, undefined, installError);
    assert.ok(demo !== undefined);
    const r = await demo.done;
    assert.equal(r.status, 0, `iotnet demo: exit ${r.status ?? r.signal}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
    assert.doesNotMatch(r.stderr, /ERR_MODULE_NOT_FOUND|Cannot find (module|package)/);
  });
});
