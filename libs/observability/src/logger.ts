import { LogLevel } from '@cs/config';
import pino from 'pino';

export interface Logger {
  error(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
}

/**
 * Structured JSON lines (pino) on stdout. Callers pass ids and figures, never
 * payloads or tokens; `redact` is the safety net for the header names that could carry one.
 */
export function createLogger(app: string, level: LogLevel): Logger {
  const log = pino({
    level,
    base: { app },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: ['token', 'authorization', 'headers.token', 'headers.authorization', 'payload', 'value'], censor: '[redacted]' },
    serializers: { error: pino.stdSerializers.err },
  });
  const write = (lvl: LogLevel) => (msg: string, fields: Record<string, unknown> = {}) => log[lvl](fields, msg);
  return { error: write('error'), warn: write('warn'), info: write('info'), debug: write('debug') };
}
