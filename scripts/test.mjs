#!/usr/bin/env node
// `npm test`: every test tier, in order. Each tier is a list of node:test files run
// through tsx. Static checks (lint, types) run first.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const only = process.argv.slice(2); // optional tier names: static unit property conformance ...

function files(dir, suffix = '.test.ts') {
  const out = [];
  const walk = (d) => {
    let entries;
    try { entries = readdirSync(d); } catch { return; }
    for (const e of entries.sort()) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith(suffix)) out.push(p);
    }
  };
  walk(join(root, dir));
  return out;
}

function run(title, cmd, args, env = {}) {
  process.stdout.write(`\n=== ${title}\n`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) {
    process.stdout.write(`\n=== ${title}: FAILED (exit ${r.status ?? r.signal})\n`);
    process.exit(r.status || 1);
  }
}

const tiers = [
  ['static', () => {
    run('lint (eslint, layer order)', 'npx', ['eslint', '.']);
    run('typecheck (tsc --noEmit)', 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']);
    if (files('web', '.ts').length > 0) run('typecheck of the browser code (web/, DOM types)', 'npx', ['tsc', '-p', 'web/tsconfig.json', '--noEmit']);
    run('API reference (typedoc into docs/api/; any warning, such as an undocumented export, fails)', 'npx', ['typedoc']);
    run("README's benchmark tables = the recorded run bench/readme-run.json", process.execPath, ['scripts/bench-readme.mjs', '--check', 'bench/readme-run.json']);
  }],
  ['unit', () => nodeTest('unit tests', files('test/unit'))],
  ['property', () => nodeTest('property tests (fast-check)', files('test/property'))],
  ['sim', () => nodeTest('simulation (two stacks, seeded impairments, virtual time)', files('test/sim'))],
  ['conformance', () => nodeTest('conformance suite', files('test/conformance'))],
  ['e2e', () => nodeTest('end-to-end (CLI, demo)', files('test/e2e'))],
  ['interop', () => interopTier()],
];

const totals = { passed: 0, failed: 0, skipped: 0 };

/**
 * The interop tier: the userspace stack over real TAP devices against the Linux kernel
 * and standard servers (dnsmasq, udhcpc, nmap, hping3, scapy, tshark, radvd,
 * ndisc6/rdisc6). Needs root: each file runs in its own network namespace
 * (scripts/netns-run.mjs creates it and removes it, with every process and device in
 * it, afterwards). Captures go to one directory that the last file (zz-pcap-check)
 * runs tshark over.
 */
async function interopTier() {
  const list = files('test/interop');
  const title = 'interop (Linux kernel and real servers over TAP, in network namespaces)';
  const why = process.platform !== 'linux' ? 'not Linux' : process.getuid?.() !== 0 ? 'not root' : undefined;
  if (why !== undefined) {
    process.stdout.write(`\n=== ${title}\n!!!!!!!! SKIPPED: ${why}: the interop tier (${list.length} files) NOT run !!!!!!!!\n`);
    if (process.env.CI === 'true') {
      process.stdout.write('CI=true: a skipped required tier is a failure\n');
      process.exit(1);
    }
    totals.skipped += list.length;
    return;
  }
  spawnSync(process.execPath, [join(root, 'scripts', 'build-native.mjs')], { cwd: root, stdio: 'inherit' });
  installInteropTools();
  const pcaps = mkdtempSync(join(tmpdir(), 'iotnet-interop-pcap-'));
  process.stdout.write(`\n=== ${title}: captures in ${pcaps}\n`);
  for (const file of list) {
    await nodeTest(`interop: ${file.slice(root.length)}`, [file], {
      wrap: [join(root, 'scripts', 'netns-run.mjs'), '--'],
      env: { IOTNET_INTEROP_PCAP_DIR: pcaps },
    });
  }
}

/**
 * The peers and oracles of the interop tier, installed with apt-get (root) before the
 * files run: inside their network namespaces there is no route to the package mirror.
 * Whatever stays missing makes its tests skip loudly (and fail under CI=true).
 */
function installInteropTools() {
  const tools = [
    ['ping', 'iputils-ping'], ['dnsmasq', 'dnsmasq'], ['udhcpc', 'udhcpc'], ['dig', 'bind9-dnsutils'],
    ['tshark', 'tshark'], ['mergecap', 'wireshark-common'], ['nmap', 'nmap'], ['hping3', 'hping3'],
    ['nft', 'nftables'], ['/usr/bin/python3', 'python3-scapy'], ['radvd', 'radvd'], ['rdisc6', 'ndisc6'],
    ['mosquitto', 'mosquitto'], ['mosquitto_pub', 'mosquitto-clients'],
  ];
  const have = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
  const scapy = () => spawnSync('/usr/bin/python3', ['-c', 'import scapy'], { stdio: 'ignore' }).status === 0;
  const missing = tools.filter(([cmd, pkg]) => (pkg === 'python3-scapy' ? !scapy() : !have(cmd))).map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  process.stdout.write(`installing interop peers: ${missing.join(' ')}\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { stdio: 'ignore', env, timeout: 900_000 }).status;
  if (install() !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'ignore', env, timeout: 600_000 });
    if (install() !== 0) process.stdout.write('!!!!!!!! apt-get could not install every interop peer: their tests will report SKIPPED !!!!!!!!\n');
  }
}

/** Runs node:test on `list`, echoing its output and adding its summary to the totals. */
async function nodeTest(title, list, opts = {}) {
  if (list.length === 0) {
    process.stdout.write(`\n=== ${title}: no test files\n`);
    return;
  }
  process.stdout.write(`\n=== ${title}\n`);
  const testArgs = ['--import', 'tsx', '--test', '--test-concurrency=1', ...list];
  const args = opts.wrap !== undefined ? [...opts.wrap, process.execPath, ...testArgs] : testArgs;
  const child = spawn(process.execPath, args, {
    cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...opts.env },
  });
  let tail = '';
  child.stdout.on('data', (d) => {
    process.stdout.write(d);
    tail = (tail + d.toString()).slice(-4000);
  });
  const code = await new Promise((resolve) => child.on('close', (c, sig) => resolve(c ?? sig)));
  const count = (k) => Number(new RegExp(`^# ${k} (\\d+)$`, 'm').exec(tail)?.[1] ?? 0);
  totals.passed += count('pass');
  totals.failed += count('fail') + count('cancelled');
  totals.skipped += count('skipped');
  if (code === 77 && opts.wrap !== undefined) {
    process.stdout.write(`\n!!!!!!!! SKIPPED: ${title}: no network namespace could be made !!!!!!!!\n`);
    if (process.env.CI === 'true') process.exit(1);
    totals.skipped += 1;
    return;
  }
  if (code !== 0) {
    process.stdout.write(`\n=== ${title}: FAILED (exit ${code})\n${totals.passed} passed, ${Math.max(1, totals.failed)} failed\n`);
    process.exit(typeof code === 'number' && code > 0 ? code : 1);
  }
}

for (const [name, fn] of tiers) {
  if (only.length === 0 || only.includes(name)) await fn();
}
process.stdout.write(`\n=== all tiers passed\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
