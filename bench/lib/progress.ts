/**
 * A progress bar on stderr: redrawn in place on a terminal, one line every
 * few seconds otherwise (CI logs, pipes).
 */
export class Progress {
  private readonly started = performance.now();
  private lastDraw = 0;
  private lastLine = '';
  private readonly tty = process.stderr.isTTY === true;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly unit = '',
  ) {}

  update(done: number, note = ''): void {
    const now = performance.now();
    if (now - this.lastDraw < (this.tty ? 100 : 3_000) && done < this.total) return;
    this.lastDraw = now;
    this.draw(done, note);
  }

  done(note = ''): void {
    this.draw(this.total, note);
    if (this.tty) process.stderr.write('\n');
  }

  private draw(done: number, note: string): void {
    const fraction = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const width = 30;
    const filled = Math.round(fraction * width);
    const seconds = (performance.now() - this.started) / 1000;
    const line =
      `  ${this.label.padEnd(34)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ` +
      `${formatCount(done)}/${formatCount(this.total)}${this.unit} ${seconds.toFixed(1)}s${note ? ` ${note}` : ''}`;
    if (this.tty) process.stderr.write(`\r${line.padEnd(this.lastLine.length)}`);
    else process.stderr.write(`${line}\n`);
    this.lastLine = line;
  }
}

/** A timed step with a bar over its duration (HTTP load runs). */
export function timedProgress(label: string, seconds: number): { stop: () => void } {
  const bar = new Progress(label, seconds, 's');
  const started = performance.now();
  const timer = setInterval(() => bar.update(Math.min(seconds, (performance.now() - started) / 1000)), 250);
  return {
    stop: () => {
      clearInterval(timer);
      bar.done();
    },
  };
}

export function formatCount(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n * 10) / 10);
}

export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}
