/**
 * The folders of src/ are the architecture, and data flows one way (CONTRIBUTING.md). These rules
 * keep it so in `npm run lint`: no import cycle, no folder importing one above it, and a cache that
 * knows nothing about OCI.
 *
 * Layers, lowest first; a folder may import its own layer's files and lower layers only.
 */
const LAYERS = [
  ['leaf', '^src/(errors|errno|runtime|machine|nodeCrypto|webCrypto|log)[.]ts$|^src/fs/'],
  ['net', '^src/net/'],
  ['kubelet', '^src/kubelet/'],
  ['cache', '^src/cache/'],
  ['oci', '^src/oci/'],
  ['ocir', '^src/ocir/'],
  ['config', '^src/config/'],
  ['identity', '^src/identity/'],
  ['provider', '^src/provider/'],
  ['doctor', '^src/doctor/'],
  ['install', '^src/install/'],
  ['cli', '^src/cli/|^src/main[.]ts$'],
];
/** Lower layers that may NOT be imported although they sit below: siblings that stay apart. */
const APART = {
  kubelet: ['net'],
  cache: ['net', 'kubelet'],
};

const rules = [
  {
    name: 'no-circular',
    severity: 'error',
    comment: 'An import cycle: data must flow one way.',
    from: { path: '^src/' },
    to: { circular: true },
  },
];
LAYERS.forEach(([name, path], index) => {
  const above = LAYERS.slice(index + 1).map(([, p]) => p);
  if (above.length > 0) {
    rules.push({
      name: `${name}-not-up`,
      severity: 'error',
      comment: `${name} may not import a layer above it (${LAYERS.slice(index + 1).map(([n]) => n).join(', ')}).`,
      from: { path },
      to: { path: above.join('|') },
    });
  }
  for (const sibling of APART[name] ?? []) {
    rules.push({
      name: `${name}-not-${sibling}`,
      severity: 'error',
      comment: `${name} knows nothing of ${sibling}.`,
      from: { path },
      to: { path: LAYERS.find(([n]) => n === sibling)[1] },
    });
  }
});

module.exports = {
  forbidden: rules,
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(node_modules|dist|release)/' },
  },
};
