/**
 * Preloaded into the apps by `npm run bench -- --profile` (NODE_OPTIONS=--require …, since
 * --cpu-prof is not allowed in NODE_OPTIONS): profiles the whole process with the inspector and
 * writes <BENCH_CPU_PROF_DIR>/<app>-<pid>.cpuprofile when it exits (the apps exit through
 * process.exit on SIGTERM). Plain JS: it runs inside the built apps.
 */
const { mkdirSync, writeFileSync } = require('node:fs');
const { Session } = require('node:inspector');
const { basename, dirname, join } = require('node:path');

const directory = process.env.BENCH_CPU_PROF_DIR;
if (directory) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  const app = basename(dirname(process.argv[1] || 'node'));
  process.on('exit', () => {
    // A same-thread inspector session answers synchronously, so this completes inside 'exit'.
    session.post('Profiler.stop', (error, result) => {
      if (error || !result) return;
      mkdirSync(directory, { recursive: true });
      writeFileSync(join(directory, `${app}-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
