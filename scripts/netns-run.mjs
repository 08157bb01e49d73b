#!/usr/bin/env node
// Runs a command inside a fresh network namespace and removes the namespace afterwards,
// whatever happens: the interop tier of `npm test` and the TAP benchmarks use it.
//
//   node scripts/netns-run.mjs [--name NAME] -- CMD [ARGS...]
//
// - The namespace is `iotnet-<pid>` (or NAME); its loopback is brought up, and the
//   command gets IOTNET_NETNS=<name> in its environment.
// - Afterwards (normal exit, failure, SIGINT/SIGTERM/SIGHUP) every process still in the
//   namespace is killed and the namespace deleted; TAP/veth devices inside it vanish
//   with it. Namespaces `iotnet-<pid>` left by runs whose process is gone are removed
//   first (a crashed earlier run).
// - Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN). Exit status: the command's; 77 when the
//   namespace cannot be made (not root, no `ip`): the caller reports SKIPPED.
import { spawn, spawnSync } from 'node:child_process';

const argv = process.argv.slice(2);
let name = `iotnet-${process.pid}`;
const sep = argv.indexOf('--');
if (sep < 0 || sep === argv.length - 1) {
  process.stderr.write('usage: netns-run.mjs [--name NAME] -- CMD [ARGS...]\n');
  process.exit(2);
}
for (let i = 0; i < sep; i++) {
  if (argv[i] === '--name' && i + 1 < sep) name = argv[++i];
}
const cmd = argv.slice(sep + 1);
const SKIP = 77;

const ip = (...args) => spawnSync('ip', args, { encoding: 'utf8' });

function pidsIn(ns) {
  const r = ip('netns', 'pids', ns);
  return r.status === 0 ? r.stdout.split(/\s+/).filter(Boolean).map(Number) : [];
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

function remove(ns) {
  for (const sig of ['SIGTERM', 'SIGKILL']) {
    const pids = pidsIn(ns);
    if (pids.length === 0) break;
    for (const p of pids) {
      try { process.kill(p, sig); } catch { /* gone */ }
    }
    spawnSync('sleep', ['0.3']);
  }
  ip('netns', 'del', ns);
}

// Stale namespaces of earlier runs whose runner died.
const list = ip('netns', 'list');
if (list.status !== 0) {
  process.stderr.write(`netns-run: 'ip netns' unavailable (${(list.stderr || list.error?.message || '').trim()})\n`);
  process.exit(SKIP);
}
for (const line of list.stdout.split('\n')) {
  const m = /^iotnet-(\d+)\b/.exec(line);
  if (m !== null && Number(m[1]) !== process.pid && !alive(Number(m[1]))) remove(`iotnet-${m[1]}`);
}

const add = ip('netns', 'add', name);
if (add.status !== 0) {
  process.stderr.write(`netns-run: cannot create namespace ${name}: ${add.stderr.trim()}\n`);
  process.exit(SKIP);
}
ip('-n', name, 'link', 'set', 'lo', 'up');

let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  remove(name);
}

const child = spawn('ip', ['netns', 'exec', name, ...cmd], { stdio: 'inherit', env: { ...process.env, IOTNET_NETNS: name } });
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    try { child.kill(sig); } catch { /* gone */ }
    cleanup();
    process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
  });
}
child.on('close', (code, signal) => {
  cleanup();
  process.exit(code ?? (signal ? 1 : 0));
});
