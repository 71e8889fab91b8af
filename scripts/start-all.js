// The one-command local run: both built apps in the foreground, their output
// interleaved; Ctrl-C / SIGTERM stops both, and either one dying stops the other.
const { spawn } = require('node:child_process');
const { join } = require('node:path');

const apps = ['consumer', 'api'].map((app) =>
  spawn(process.execPath, [join(__dirname, '..', 'dist', 'apps', app, 'main.js')], { stdio: 'inherit', env: process.env }),
);
let exitCode = 0;
let stopping = false;
const stopAll = (code) => {
  exitCode = exitCode || code;
  if (stopping) return;
  stopping = true;
  for (const child of apps) if (child.exitCode === null) child.kill('SIGTERM');
};
for (const child of apps) child.on('exit', (code) => (apps.every((c) => c.exitCode !== null || c.signalCode !== null) ? process.exit(exitCode) : stopAll(code ?? 1)));
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));
