import { LOG_LEVELS, LogLevel } from './config';

export interface Logger {
  error(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
}

/** JSON lines on stdout. Callers never pass payloads or tokens. */
export function createLogger(app: string, level: LogLevel): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const write = (lvl: LogLevel) => (msg: string, fields: Record<string, unknown> = {}) => {
    if (LOG_LEVELS.indexOf(lvl) > threshold) return;
    process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level: lvl, app, msg, ...fields }, bigintAsString)}\n`);
  };
  return { error: write('error'), warn: write('warn'), info: write('info'), debug: write('debug') };
}

function bigintAsString(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

/** Loads the configuration or exits at once naming the bad variable. */
export function configOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
