/** A bench child's end: on SIGTERM or when the bench goes away, `close` and exit 0 (forced after `graceMs`). */
export function exitOnStop(close: () => Promise<unknown>, graceMs = 3_000): void {
  const stop = () => {
    close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), graceMs).unref();
  };
  process.on('SIGTERM', stop);
  process.on('disconnect', stop);
}

/** Runs a bench child's main; a failure is written to stderr and the child exits 1. */
export function runChild(name: string, main: () => Promise<void>): void {
  main().catch((error) => {
    process.stderr.write(`${name} failed: ${String(error)}\n`);
    process.exit(1);
  });
}
