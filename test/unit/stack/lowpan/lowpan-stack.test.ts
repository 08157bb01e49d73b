import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { XorShiftRng } from '../../../../src/base/rand.ts';
import { VirtualScheduler } from '../../../../src/base/time.ts';

import { RadioMedium } from '../../../../src/link/radio-medium.ts';
import { RadioLink } from '../../../../src/link/radio-link.ts';
import { StackRunner } from '../../../../src/runtime/stack-runner.ts';
import { Stack, toIpv6 } from '../../../../src/stack/stack.ts';

test('host registers with a 6LoWPAN router and pings it', () => {
  const sched = new VirtualScheduler();
  const medium = new RadioMedium({ scheduler: sched, rng: new XorShiftRng(1) });
  const ext = (n: number): Uint8Array => Uint8Array.of(0x02, 0, 0, 0, 0, 0, 0, n);
  const pr = medium.attach({ extended: ext(1), pan: 0xabcd });
  const ph = medium.attach({ extended: ext(2), pan: 0xabcd });
  medium.link(pr, ph, 0);
  const router = new Stack({ rng: new XorShiftRng(2), forwarding: true });
  const ri = router.addInterface(new RadioLink(pr), {
    ipv6: { autoconf: false, addresses: [{ address: toIpv6('2001:db8:1::1'), prefixLen: 64 }], lowpan: { router: { prefix: toIpv6('2001:db8:1::') } } },
  });
  const host = new Stack({ rng: new XorShiftRng(3) });
  const hi = host.addInterface(new RadioLink(ph), { ipv6: true });
  const rr = new StackRunner(router, { scheduler: sched });
  const hr = new StackRunner(host, { scheduler: sched });
  sched.advance(10_000);
  const addrs = host.ipv6Addresses(hi);


  assert.ok(addrs.some((a) => a.address[0] === 0x20 && a.state === 'preferred'));
  assert.equal(router.interface(ri)?.lowpan?.stats.malformed, 0);
  rr.close();
  hr.close();
});
