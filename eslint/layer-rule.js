// ESLint rule `iotnet/layers`: the one-way layer order of src/.
//
//   base -> wire -> stack -> link -> backends -> socket -> tls -> clients -> apps -> cli
//
// A module may import its own layer and the layers before it, never a later one.
// `runtime/` (the only place with real timers, clocks and OS access) may import
// `base/` only, and may be imported from `link/` upwards. The pure core
// (base, wire, stack) imports no Node built-ins at all; `node:net`, `node:dgram`
// and `node:dns` belong to the host backend (and the runtime/CLI) alone.
import path from 'node:path';
import { builtinModules } from 'node:module';

export const LAYERS = ['base', 'wire', 'stack', 'link', 'backends', 'socket', 'tls', 'clients', 'apps', 'cli'];
const PURE = new Set(['base', 'wire', 'stack']);
const OS_MODULES = new Set(['net', 'dgram', 'dns', 'child_process', 'fs', 'os']);
const builtins = new Set(builtinModules);

function layerOf(file) {
  const parts = path.normalize(file).split(path.sep);
  const i = parts.lastIndexOf('src');
  if (i < 0 || i + 1 >= parts.length) return undefined;
  const top = parts[i + 1];
  if (top === 'runtime') return 'runtime';
  if (LAYERS.includes(top)) return top;
  if (i + 2 === parts.length) return 'entry'; // src/index.ts and friends: public entry points
  return undefined;
}
function rank(layer) {
  if (layer === 'entry') return LAYERS.length;
  return LAYERS.indexOf(layer);
}
function allowed(from, to) {
  if (from === to) return true;
  if (from === 'runtime') return to === 'base';
  if (to === 'runtime') return rank(from) >= rank('link');
  if (to === 'entry') return from === 'cli' || from === 'entry';
  return rank(to) <= rank(from);
}
function builtinName(spec) {
  const bare = spec.startsWith('node:') ? spec.slice(5) : spec;
  const base = bare.split('/')[0];
  return builtins.has(bare) || builtins.has(base) ? base : undefined;
}

export const layersRule = {
  meta: {
    type: 'problem',
    docs: { description: 'enforce the one-way layer order of src/' },
    schema: [],
  },
  create(context) {
    const file = context.filename;
    const from = layerOf(file);
    if (!from) return {};
    function check(node, spec) {
      if (typeof spec !== 'string') return;
      const b = builtinName(spec);
      if (b) {
        if (PURE.has(from)) {
          context.report({ node, message: `${from}/ is pure: it may not import the Node built-in '${spec}'` });
        } else if (OS_MODULES.has(b) && !['runtime', 'cli'].includes(from) && !file.includes(`${path.sep}backends${path.sep}host${path.sep}`)) {
          context.report({ node, message: `'${spec}' is OS access: only backends/host, runtime/ and cli/ may import it` });
        }
        return;
      }
      if (!spec.startsWith('.')) return; // packages: allowed (checked in review)
      const target = path.resolve(path.dirname(file), spec);
      const to = layerOf(target);
      if (!to) return;
      if (!allowed(from, to)) {
        context.report({ node, message: `layer order: ${from}/ may not import ${to}/ ('${spec}')` });
      }
    }
    return {
      ImportDeclaration(node) { check(node, node.source.value); },
      ExportNamedDeclaration(node) { if (node.source) check(node, node.source.value); },
      ExportAllDeclaration(node) { check(node, node.source.value); },
      ImportExpression(node) { if (node.source.type === 'Literal') check(node, node.source.value); },
    };
  },
};

export default { rules: { layers: layersRule } };
