/**
 * The 6LoWPAN mesh of the tests: `meshNet` and its constants live in src/apps/sim/mesh-net.ts
 * (the IoT demo builds its mesh with it too); re-exported here for the tests.
 */
export * from '../../src/apps/sim/mesh-net.ts';
