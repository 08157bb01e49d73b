import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { SystemScheduler } from '../../../src/runtime/system-scheduler.ts';

describe('SystemScheduler', () => {
  it('fires a short timer once, and cancel() prevents it', async () => {
    const s = new SystemScheduler();
    let fired = 0;
    await new Promise<void>((resolve) => s.setTimer(5, () => { fired++; resolve(); }));
    const cancel = s.setTimer(5, () => fired++);
    cancel();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(fired, 1);
  });

  it('chains timers beyond 2^31-1 ms instead of firing at once (uint32 IoT timeouts)', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      let now = 0;
      const s = new SystemScheduler();
      // Drive the scheduler's clock with the mocked timers.
      s.now = () => now;
      let fired = false;
      s.setTimer(0xffffffff, () => (fired = true));
      const step = (ms: number): void => {
        now += ms;
        mock.timers.tick(ms);
      };
      step(1000);
      assert.equal(fired, false, 'not after 1 s');
      step(0x7fffffff - 1000);
      assert.equal(fired, false, 'not after 2^31-1 ms');
      step(0xffffffff - 0x7fffffff - 1);
      assert.equal(fired, false, 'not 1 ms before the deadline');
      step(1);
      assert.equal(fired, true, 'at 2^32-1 ms');
    } finally {
      mock.timers.reset();
    }
  });
});
