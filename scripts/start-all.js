// The one-command local run: services:up, build, then both built apps in the
// foreground, their output interleaved. SIGTERM / SIGINT (Ctrl-C) stops both
// gracefully and exits with their status; either one dying stops the other.
// `--no-build` skips services:up and the build (both apps as already built).
// Run through npm, the script `exec`s this file so npm's forwarded signal reaches it.
const { spawn, spawnSync } = require('node:child_process');
const { join } = require('node:path');

const ROOT = join(__dirname, '..');

if (!process.argv.includes('--no-build')) {
  for (const script of ['services:up', 'build']) {
    const step = spawnSync('npm', ['run', script], { cwd: ROOT, stdio: 'inherit' });
    if (step.status !== 0) process.exit(step.status ?? 1);
  }
}

const apps = ['consumer', 'api'].map((app) =>
  spawn(process.execPath, [join(ROOT, 'dist', 'apps', app, 'main.js')], { stdio: 'inherit', env: process.env }),
);
let asked = false;
const stopAll = () => {
  for (const child of apps) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
};
const exits = apps.map(
  (child) =>
    new Promise((resolve) =>
      child.once('exit', (code) => {
        const status = code ?? 1;
        stopAll();
        // An app that stops when nobody asked it to is a failure, whatever its own status.
        resolve(asked ? status : Math.max(status, 1));
      }),
    ),
);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    asked = true;
    stopAll();
  });
}
Promise.all(exits).then((statuses) => process.exit(Math.max(...statuses)));
