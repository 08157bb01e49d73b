/**
 * A capture of a DHCP client's life against our server, dissected by tshark: DORA with a
 * client identifier and host name, RFC 5227 probes and announcements, a renewal, a
 * conflict with DECLINE, a 70-server DNS option split per RFC 3396, a RELEASE. tshark
 * must find no malformed packet, no bad checksum, no expert error, and the DHCP fields
 * we sent. tshark is installed when missing (root); otherwise a loud skip (a failure
 * under CI).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PcapCapture } from '../../../src/link/index.ts';
import { dhcp4ClientIdFromMac } from '../../../src/stack/dhcp/dhcp4-client.ts';
import { skipWithoutTool } from '../../support/system-tool.ts';
import { addClientHost, dhcpLan, startClient } from '../../support/dhcp4-net.ts';
import { run } from '../../support/stack-net.ts';

function tshark(file: string, ...args: string[]): string[] {
  const r = spawnSync('tshark', ['-r', file, '-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l.trim() !== '');
}

const DNS = Array.from({ length: 70 }, (_, i) => `10.53.0.${i + 1}`);

describe('DHCPv4: a capture checked by tshark', () => {
  it('no malformed packets or bad checksums; message types, flags and options as sent', (t) => {
    if (skipWithoutTool(t, 'tshark', 'tshark', 'the DHCP capture')) return;
    const lan = dhcpLan({ server: { leaseSeconds: 600, dnsServers: DNS } });
    const chunks: Uint8Array[] = [];
    let cap: PcapCapture | undefined;
    const h = addClientHost(lan, 1, {
      mac: '02:00:00:00:00:01',
      wrap: (port) => (cap = new PcapCapture(port, { clock: lan.sched, sink: (c) => chunks.push(c) })),
    });
    addClientHost(lan, 2, { address: '192.168.7.100' }); // owns the first pool address: conflict
    const { client } = startClient(lan, h, { hostname: 'iot-1', clientId: dhcp4ClientIdFromMac(h.mac) });
    run(lan.sched, 30_000);
    assert.equal(client.lease?.address, 0xc0a80765);
    run(lan.sched, 300_000); // T1: renewal
    client.stop(lan.sched.now(), { release: true });
    run(lan.sched, 1000);

    const dir = mkdtempSync(join(tmpdir(), 'iotnet-dhcp-'));
    const file = join(dir, 'dhcp.pcap');
    try {
      writeFileSync(file, Buffer.concat(chunks));
      assert.equal(tshark(file).length, cap?.frames, 'tshark reads every frame');
      const bad = tshark(file, '-Y', '_ws.malformed || _ws.expert.severity >= 0x00800000 || ip.checksum.status == 0 || udp.checksum.status == 0');
      assert.deepEqual(bad, [], 'malformed packets, bad checksums or expert errors');
      const fields = (filter: string, ...f: string[]): string[] => tshark(file, '-Y', filter, '-T', 'fields', '-E', 'separator=|', ...f.flatMap((x) => ['-e', x]));
      // DISCOVER OFFER REQUEST ACK DECLINE DISCOVER OFFER REQUEST ACK REQUEST(renew) ACK RELEASE
      assert.deepEqual(fields('dhcp', 'dhcp.option.dhcp'), ['1', '2', '3', '5', '4', '1', '2', '3', '5', '3', '5', '7']);
      // dhcp.hw.mac_addr: chaddr, then the MAC inside the client identifier (type 1).
      assert.deepEqual(fields('dhcp.option.dhcp == 1', 'dhcp.flags.bc', 'dhcp.option.hostname', 'dhcp.hw.mac_addr'), [
        '1|iot-1|02:00:00:00:00:01,02:00:00:00:00:01', '1|iot-1|02:00:00:00:00:01,02:00:00:00:00:01',
      ]);
      assert.deepEqual(fields('dhcp.option.dhcp == 4', 'dhcp.option.requested_ip_address', 'dhcp.option.dhcp_server_id', 'ip.src'), ['192.168.7.100|192.168.7.1|0.0.0.0']);
      const acks = fields('dhcp.option.dhcp == 5', 'dhcp.ip.your', 'dhcp.option.subnet_mask', 'dhcp.option.router', 'dhcp.option.interface_mtu', 'dhcp.option.ip_address_lease_time', 'dhcp.option.renewal_time_value', 'dhcp.option.rebinding_time_value', 'dhcp.option.domain_name');
      assert.equal(acks.length, 3);
      assert.ok(acks.every((l) => l === '192.168.7.101|255.255.255.0|192.168.7.1|1400|600|300|525|lan.test' || l.startsWith('192.168.7.100|')), acks.join('\n'));
      const dns = fields('dhcp.option.dhcp == 2', 'dhcp.option.domain_name_server')[0]?.split(',') ?? [];
      assert.equal(dns.length, 70, 'tshark reads the 280-byte DNS option in its two RFC 3396 pieces');
      assert.deepEqual(fields('dhcp.option.dhcp == 3 && dhcp.ip.client == 192.168.7.101', 'ip.dst', 'dhcp.flags.bc'), ['192.168.7.1|0'], 'the renewal is unicast');
      assert.deepEqual(fields('dhcp.option.dhcp == 7', 'dhcp.ip.client', 'dhcp.option.dhcp_server_id'), ['192.168.7.101|192.168.7.1']);
      assert.equal(tshark(file, '-Y', 'arp.isprobe == 1 && eth.src == 02:00:00:00:00:01').length, 1 + 3, 'the squatter answered the first probe; three for the second address');
      assert.equal(tshark(file, '-Y', 'arp.isannouncement == 1 && eth.src == 02:00:00:00:00:01').length, 2);
    } finally {
      if (process.env.KEEP_PCAP === undefined) rmSync(dir, { recursive: true, force: true });
      else console.log(file);
    }
  });
});
