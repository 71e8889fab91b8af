/**
 * Runs the bench's TypeScript straight from source (`node -r ./bench/ts-register.js bench/main.ts`):
 * each .ts file outside node_modules is transpiled on load with the project's TypeScript (no type
 * checking here: `tsc -p bench/tsconfig.json` does that first). Running from source keeps
 * test/support's paths (it finds the built apps relative to itself) exactly as under jest.
 */
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const ts = require('typescript');
const tsConfigPaths = require('tsconfig-paths');

// test/support imports the libs by their aliases (@cs/...), as the apps do: resolve them from the project's tsconfig.
const { absoluteBaseUrl, paths } = tsConfigPaths.loadConfig(join(__dirname, '..'));
tsConfigPaths.register({ baseUrl: absoluteBaseUrl, paths });

const compilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  experimentalDecorators: true,
  // Nest resolves constructor parameters from it (bench/children/nest-floor-server.ts builds the API's app from source).
  emitDecoratorMetadata: true,
  inlineSourceMap: true,
  inlineSources: false,
};

require.extensions['.ts'] = function compileTypeScript(module, filename) {
  if (filename.includes('/node_modules/')) throw new Error(`bench/ts-register.js does not load ${filename}`);
  const { outputText } = ts.transpileModule(readFileSync(filename, 'utf8'), { fileName: filename, compilerOptions });
  module._compile(outputText, filename);
};
process.setSourceMapsEnabled?.(true);
