/**
 * A one-line progress bar on stderr: redrawn in place on a terminal; when
 * forced (--progress) onto a file or pipe, one plain line at most every second.
 * Otherwise silent, so scripts read only the final lines on stdout.
 */
export class ProgressBar {
  private lastDraw = 0;

  private constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly mode: 'tty' | 'lines' | 'off',
    private readonly stream: NodeJS.WriteStream,
  ) {}

  static start(label: string, total: number, forced: boolean, stream: NodeJS.WriteStream = process.stderr): ProgressBar {
    const mode = stream.isTTY ? 'tty' : forced ? 'lines' : 'off';
    const bar = new ProgressBar(label, total, mode, stream);
    bar.update(0, '');
    return bar;
  }

  /** `done` counts toward `total`; `detail` follows the percentage. */
  update(done: number, detail: string): void {
    const now = Date.now();
    if (this.mode === 'off' || now - this.lastDraw < (this.mode === 'tty' ? 100 : 1_000)) return;
    this.lastDraw = now;
    this.draw(done, detail);
  }

  finish(detail: string): void {
    if (this.mode === 'off') return;
    this.draw(this.total, detail);
    if (this.mode === 'tty') this.stream.write('\n');
  }

  private draw(done: number, detail: string): void {
    const fraction = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const filled = Math.round(fraction * WIDTH);
    const line = `${this.label} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}% ${detail}`;
    this.stream.write(this.mode === 'tty' ? `\r${line}\x1b[K` : `${line}\n`);
  }
}

const WIDTH = 30;
