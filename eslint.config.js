import tseslint from 'typescript-eslint';
import iotnet from './eslint/layer-rule.js';

const ambient = {
  'no-restricted-globals': ['error',
    { name: 'setTimeout', message: 'Real timers live in src/runtime/: take a Scheduler.' },
    { name: 'setInterval', message: 'Real timers live in src/runtime/: take a Scheduler.' },
    { name: 'setImmediate', message: 'Real timers live in src/runtime/: take a Scheduler.' },
    { name: 'Buffer', message: 'The core uses Uint8Array; Buffer only at the Node boundary.' },
  ],
  'no-restricted-properties': ['error',
    { object: 'Date', property: 'now', message: 'Time is injected (Clock/Scheduler); real clocks live in src/runtime/.' },
    { object: 'Math', property: 'random', message: 'Randomness is injected (Rng); crypto-backed in src/runtime/.' },
    { object: 'performance', property: 'now', message: 'Time is injected (Clock/Scheduler); real clocks live in src/runtime/.' },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.tmp/**', 'docs/api/**'] },
  ...tseslint.configs.recommended,
  {
    plugins: { iotnet },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'iotnet/layers': 'error',
      'no-console': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      ...ambient,
    },
  },
  {
    // Buffer is the Node boundary type: allowed where Node I/O happens.
    files: ['src/backends/host/**/*.ts', 'src/socket/duplex.ts', 'src/tls/**/*.ts', 'src/clients/**/*.ts', 'src/apps/**/*.ts'],
    rules: { 'no-restricted-globals': ['error', ...ambient['no-restricted-globals'].slice(1, 4)] },
  },
  {
    files: ['src/runtime/**/*.ts', 'src/cli/**/*.ts'],
    rules: { 'no-restricted-globals': 'off', 'no-restricted-properties': 'off', 'no-console': 'off' },
  },
  {
    files: ['eslint/**/*.js', 'scripts/**/*.mjs', 'bin/**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
