/**
 * The wall clock of the cloud presets. Tokens carry absolute times (an Azure SAS `se`,
 * a JWT `iat`/`exp`: seconds since the Unix epoch), so the presets need real time, not
 * the monotonic `Instant` of the stack. Every preset takes `now` so tests can inject one.
 */
import { systemScheduler } from '../../runtime/system-scheduler.ts';

/** Milliseconds since the Unix epoch. */
export type WallClock = () => number;

/** The system wall clock (through `runtime/`, the one place that reads real time). */
export const systemWallClock: WallClock = () => systemScheduler.wallClock();
