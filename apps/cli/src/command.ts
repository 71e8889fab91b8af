import { parseArgs } from 'node:util';

/** Option values as parsed from the command line. */
export type OptionValues = Record<string, string | boolean | undefined>;

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
}

/** One operator command: `npm run cli -- <name> [options]`. */
export interface Command {
  /** As typed, e.g. `produce` or `dlq list`. */
  name: string;
  summary: string;
  /** The whole `--help` text. */
  help: string;
  options: Record<string, OptionSpec>;
  /** Returns the exit status. */
  run(options: OptionValues): Promise<number>;
}

/** A mistake on the command line: reported with a pointer to --help, exit status 2. */
export class UsageError extends Error {}

export function parseOptions(command: Command, argv: string[]): OptionValues & { help?: boolean } {
  try {
    const { values } = parseArgs({ args: argv, options: { ...command.options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false });
    return values as OptionValues & { help?: boolean };
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** An integer option in min..max, or `fallback` when absent. */
export function integerOption(options: OptionValues, name: string, min: number, max: number, fallback?: number): number {
  const text = options[name];
  if (text === undefined && fallback !== undefined) return fallback;
  if (typeof text !== 'string' || !/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`--${name} must be an integer in ${min}..${max}${typeof text === 'string' ? `, got ${JSON.stringify(text)}` : ''}`);
  }
  return Number(text);
}

/** Plain result lines go to stdout; everything else (progress, logs) to stderr. */
export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}
