/**
 * The CLI on a TAP device against the Linux kernel (root, inside the interop tier's network
 * namespace): a persistent TAP `clitap0` whose kernel side is 10.98.1.1/24; each command
 * opens it in turn (one process holds a TAP at a time).
 *
 * - `iotnet tap clitap0 --ipv4 10.98.1.2/24 --serve sockserver --pcap FILE`: the kernel pings
 *   the stack and gets an echo from its test server; SIGINT stops it with exit 0; `iotnet pcap`
 *   summarises the capture it wrote (ARP, ICMP, TCP; nothing malformed);
 * - `iotnet ping --via tap:clitap0`: ICMP echo to the kernel (56 and 3000 bytes), exit 0; an
 *   address nobody has: exit 1; ICMPv6 with a static --ipv6 address (after DAD);
 * - `iotnet mqtt --via tap:clitap0` against mosquitto on the kernel side: sub gets what
 *   mosquitto_pub sends; pub with DHCP from dnsmasq and the broker by name (dnsmasq's DNS)
 *   reaches mosquitto_sub.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, startCli } from '../support/cli-run.ts';
import { pcapDir, Peers, run, sh, skipWithoutInterop } from '../support/interop.ts';
import { skipWithoutMosquitto, startMosquitto, type Mosquitto } from '../support/mosquitto.ts';
import { skipWithoutTool } from '../support/system-tool.ts';

const TAP = 'clitap0';
const KERNEL = '10.98.1.1';
const STACK = '10.98.1.2';
const KERNEL6 = '2001:db8:98::1';
const ready = (): boolean => process.env.IOTNET_NETNS !== undefined && process.getuid?.() === 0;

describe('iotnet tap, ping and mqtt over a TAP with the Linux kernel', () => {
  const peers = new Peers();
  let broker: Mosquitto | undefined;

  before(() => {
    if (!ready()) return;
    sh('ip', ['tuntap', 'add', 'mode', 'tap', 'name', TAP]);
    sh('sysctl', ['-q', '-w', `net.ipv6.conf.${TAP}.disable_ipv6=0`]);
    sh('ip', ['-6', 'addr', 'add', `${KERNEL6}/64`, 'nodad', 'dev', TAP]);
    sh('ip', ['addr', 'add', `${KERNEL}/24`, 'dev', TAP]);
    sh('ip', ['link', 'set', TAP, 'up']);
  });

  after(async () => {
    await broker?.stop();
    await peers.killAll();
    if (ready()) sh('ip', ['link', 'del', TAP], { allowFail: true });
  });

  it('iotnet tap: the kernel pings the stack and uses its test server; SIGINT exits 0; iotnet pcap reads its capture', async (t) => {
    if (skipWithoutInterop(t) || skipWithoutTool(t, 'ping', 'iputils-ping', 'the kernel pinging iotnet tap')) return;
    const file = join(pcapDir(), 'cli-tap.pcap');
    const tap = startCli(['tap', TAP, '--ipv4', `${STACK}/24`, '--serve', 'sockserver', '--pcap', file]);
    try {
      await tap.waitFor(/tap: ready/);
      assert.match(tap.out(), new RegExp(`tap: address ${STACK.replace(/\./g, '\\.')}/24 \\(static\\)`));
      assert.match(tap.out(), /tap: serving sockserver: .*echo\/tcp 7/);
      const ping = await run('ping', ['-c', '2', '-i', '0.2', '-W', '2', STACK]);
      assert.equal(ping.code, 0, ping.out);
      assert.match(ping.out, /2 packets transmitted, 2 received/);
      const s = net.connect(7, STACK);
      await once(s, 'connect');
      s.write('through iotnet tap');
      const [data] = (await once(s, 'data')) as [Buffer];
      assert.equal(data.toString(), 'through iotnet tap');
      s.destroy();
    } finally {
      assert.equal(await tap.stop('SIGINT'), 0, tap.err());
    }
    assert.match(tap.out(), /tap: SIGINT, shutting down/);
    const summary = await runCli(['pcap', '--json', file]);
    assert.equal(summary.code, 0, summary.stderr);
    const s = JSON.parse(summary.stdout) as { linkType: number; malformed: number; protocols: Record<string, number> };
    assert.equal(s.linkType, 1);
    assert.equal(s.malformed, 0);
    for (const p of ['ARP', 'ICMP', 'TCP']) assert.ok((s.protocols[p] ?? 0) > 0, `${p}: ${summary.stdout}`);
  });

  it('iotnet ping --via tap: ICMP echo to the kernel (56 and 3000 bytes, ICMPv6) exit 0; nobody there: exit 1', async (t) => {
    if (skipWithoutInterop(t)) return;
    const via = ['--via', `tap:${TAP}`, '--ipv4', `${STACK}/24`];
    const small = await runCli(['ping', ...via, KERNEL, '-c', '3', '-i', '0.2']);
    assert.equal(small.code, 0, small.stdout + small.stderr);
    assert.equal(small.stdout.match(new RegExp(`^64 bytes from ${KERNEL.replace(/\./g, '\\.')}: icmp_seq=\\d ttl=64`, 'gm'))?.length, 3, small.stdout);
    assert.match(small.stdout, /rtt min\/avg\/max/);
    const big = await runCli(['ping', ...via, KERNEL, '-c', '2', '-i', '0.2', '-s', '3000']);
    assert.equal(big.code, 0, big.stdout + big.stderr);
    assert.equal(big.stdout.match(/^3008 bytes from /gm)?.length, 2, big.stdout);
    const v6 = await runCli(['ping', '--via', `tap:${TAP}`, '--ipv6', '2001:db8:98::2/64', '-6', KERNEL6, '-c', '2', '-i', '0.2']);
    assert.equal(v6.code, 0, v6.stdout + v6.stderr);
    assert.equal(v6.stdout.match(/^64 bytes from 2001:db8:98::1: icmp_seq=\d hlim=64/gm)?.length, 2, v6.stdout);
    assert.match(v6.stderr, /tap: ipv6 address 2001:db8:98::2\/64 \(static\) preferred/);
    const none = await runCli(['ping', ...via, '10.98.1.77', '-c', '1', '-W', '1']);
    assert.equal(none.code, 1, none.stdout + none.stderr);
    assert.match(none.stdout, /1 packets transmitted, 0 received/);
  });

  it('iotnet mqtt --via tap: sub gets what mosquitto_pub sends; pub with DHCP and the broker by name reaches mosquitto_sub', async (t) => {
    if (skipWithoutInterop(t) || skipWithoutMosquitto(t) || skipWithoutTool(t, 'dnsmasq', 'dnsmasq', 'DHCP and DNS for iotnet mqtt --via tap')) return;
    broker = await startMosquitto({ listeners: [{ port: 1883, host: KERNEL }] });
    const sub = startCli(['mqtt', 'sub', '--via', `tap:${TAP}`, '--ipv4', `${STACK}/24`, '--broker', KERNEL, '--topic', 'cli/tap/#', '--count', '1', '--qos', '1', '--timeout', '60']);
    try {
      await sub.waitFor(/subscribed to cli\/tap\/#/, 30_000, 'stderr');
      const pub = await run('mosquitto_pub', ['-h', KERNEL, '-t', 'cli/tap/down', '-m', 'to the stack', '-q', '1']);
      assert.equal(pub.code, 0, pub.out);
      assert.equal(await sub.exited(), 0, sub.err());
      assert.equal(sub.out(), 'cli/tap/down to the stack\n');
    } finally {
      await sub.stop('SIGKILL');
    }
    const dnsmasq = peers.spawn('dnsmasq', ['--no-daemon', '--conf-file=/dev/null', '-u', 'root', `--interface=${TAP}`, '--except-interface=lo', '--bind-interfaces',
      '--dhcp-range=10.98.1.10,10.98.1.50,2m', `--dhcp-option=option:router,${KERNEL}`, `--dhcp-leasefile=${join(mkdtempSync(join(tmpdir(), 'iotnet-cli-tap-')), 'leases')}`,
      '--no-resolv', '--no-hosts', '--local=/test/', `--host-record=mqtt.test,${KERNEL}`, '--log-dhcp']);
    await peers.waitFor(dnsmasq, /DHCP, IP range/);
    const listener = peers.spawn('mosquitto_sub', ['-h', KERNEL, '-t', 'cli/tap/up', '-C', '1', '-W', '60', '-q', '1']);
    await new Promise((r) => setTimeout(r, 500)); // mosquitto_sub subscribes
    const pub = await runCli(['mqtt', 'pub', '--via', `tap:${TAP}`, '--broker', 'mqtt.test', '--topic', 'cli/tap/up', '--message', 'from the stack', '--qos', '1']);
    assert.equal(pub.code, 0, pub.stdout + pub.stderr);
    assert.match(pub.stderr, /tap: address 10\.98\.1\.\d+\/24 \(dhcp from 10\.98\.1\.1/);
    assert.match(pub.stdout, /published 14 bytes to cli\/tap\/up \(QoS 1\) at mqtt\.test:1883 via our userspace stack on clitap0/);
    await peers.waitFor(listener, /from the stack/, 20_000);
  });
});
