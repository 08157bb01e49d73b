/** The demo's live model, as the page receives it (JSON from the dashboard server). */
export type {
  DemoCounters, DemoDeviceSummary, DemoEvent, DemoFailover, DemoInterface, DemoLink, DemoMedium, DemoNode, DemoNodeRole, DemoSnapshot, DemoSummary,
} from '../../src/apps/demo/demo-model.ts';
