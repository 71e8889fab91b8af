// The import graph's rules, checked by `npm run deps:check` (part of `npm test`).
// Each library says what it may import: other libraries of this repository and
// npm packages by name, Node's own modules only where `node` is true.
const { join } = require('node:path');

const LIBRARIES = {
  // Pure rules: no framework, database, cache, broker or Node module; exact JSON parsing (itself pure) is allowed.
  domain: { libs: ['json'], packages: [], node: false, specsToo: true },
  json: { libs: [], packages: ['lossless-json'], node: false },
  config: { libs: [], packages: [], node: false },
  kafka: { libs: ['config'], packages: ['kafkajs'], node: false },
  observability: { libs: ['config'], packages: ['@nestjs/common', '@nestjs/terminus', 'pino', 'prom-client'], node: false },
  storage: { libs: ['domain', 'json', 'config'], packages: ['pg', 'ioredis', 'cluster-key-slot'], node: true },
  events: { libs: ['domain', 'json'], packages: ['kafkajs'], node: false },
  ingest: { libs: ['domain', 'json', 'storage', 'kafka'], packages: ['kafkajs', 'pg'], node: true },
};

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

function libraryRule(name, { libs, packages, node, specsToo = false }) {
  return {
    name: `libs-${name}-imports`,
    comment: `libs/${name} may import only libs/${[name, ...libs].join(', libs/')}${packages.length ? `, ${packages.join(', ')}` : ''}${node ? ' and Node modules' : ''}`,
    severity: 'error',
    from: { path: `^libs/${name}/`, ...(specsToo ? {} : { pathNot: '\\.spec\\.ts$' }) },
    to: {
      pathNot: [`^libs/(${[name, ...libs].join('|')})/`, ...packages.map((p) => `(^|/)node_modules/${escape(p)}/`)],
      ...(node ? { dependencyTypesNot: ['core'] } : {}),
    },
  };
}

module.exports = {
  forbidden: [
    ...Object.entries(LIBRARIES).map(([name, allowed]) => libraryRule(name, allowed)),
    {
      name: 'apps-not-into-other-apps',
      comment: 'an app never imports another app: what two apps share lives in libs/',
      severity: 'error',
      from: { path: '^apps/([^/]+)/' },
      to: { path: '^apps/', pathNot: '^apps/$1/' },
    },
    {
      name: 'libs-not-into-apps',
      comment: 'libraries never import an app',
      severity: 'error',
      from: { path: '^libs/' },
      to: { path: '^apps/' },
    },
    {
      name: 'no-unknown-libraries',
      comment: 'a new library gets its own rule above',
      severity: 'error',
      from: { path: `^libs/(?!(${Object.keys(LIBRARIES).join('|')})/)` },
      to: {},
    },
    {
      name: 'no-cycles',
      comment: 'no import cycles',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|test/fixtures)/' },
    // Type-only imports count: a type from pg in the domain is still a dependency on pg.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: join(__dirname, 'tsconfig.json') },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
