import { AsyncLocalStorage } from 'node:async_hooks';
import type { LogItem } from '@aws-lambda-powertools/logger';
import { Logger } from '@aws-lambda-powertools/logger';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';

/**
 * Structured logs: one JSON object per line, written by Powertools for AWS Lambda's Logger
 * (Lambda's JSON log format keeps them as they are). `log.*` is the one home the code calls.
 *
 * - Level: LOG_LEVEL (debug, info, warn, error, silent; default info; the `logLevel` deploy
 *   setting), read again when it changes.
 * - Debug sampling: POWERTOOLS_LOGGER_SAMPLE_RATE (0–1, the `logDebugSampleRate` setting):
 *   that share of calls log at debug level whatever the level (`sampleDebugLogs`).
 * - Correlation: the fields of `withLogContext` (request id, method, user…) are on every line
 *   written inside it, across awaits, so the lines of one call, of a batch's inner calls or of
 *   a fan-out run can be found together even when calls interleave in one process.
 * - On a terminal outside Lambda (the local runtime's `npm start`), one compact human line
 *   instead of JSON (LOG_FORMAT=json keeps JSON).
 *
 * Callers pass no tokens, passwords or read tokens; errors are reduced to name/message/stack.
 */
type Fields = Record<string, unknown>;

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'critical', 'silent']);
const context = new AsyncLocalStorage<Fields>();

/** Outside Lambda, on a terminal, without LOG_FORMAT=json: the compact human format. */
function humanFormat(): boolean {
  return process.stdout.isTTY === true && !process.env.AWS_LAMBDA_FUNCTION_NAME && process.env.LOG_FORMAT !== 'json';
}

const SHOWN_FIRST = ['timestamp', 'level', 'message'];
const LEFT_OUT = new Set(['service', 'sampling_rate', 'xray_trace_id']);

/** `12:03:04.567 INFO  call methodId=events.get status=200 durationMs=12 …` */
export function humanLine(attributes: Record<string, unknown>): string {
  const time = typeof attributes.timestamp === 'string' ? attributes.timestamp.slice(11, 23) : '';
  const level = String(attributes.level ?? '').padEnd(5);
  const rest = Object.entries(attributes)
    .filter(([k, v]) => !SHOWN_FIRST.includes(k) && !LEFT_OUT.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? (/\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`)
    .join(' ');
  return `${time} ${level} ${attributes.message}${rest ? ` ${rest}` : ''}`;
}

/** The Powertools Logger, printing the compact line on a terminal. */
class PryvLogger extends Logger {
  protected override printLog(logLevel: number, item: LogItem): void {
    if (!humanFormat()) {
      super.printLog(logLevel, item);
      return;
    }
    item.prepareForPrint();
    const line = `${humanLine(item.getAttributes() as Record<string, unknown>)}\n`;
    // WARN (16) and above to stderr, as Powertools' console.warn/error would.
    (logLevel >= 16 ? process.stderr : process.stdout).write(line);
  }
}

let logger: PryvLogger | undefined;
let levelSet: string | undefined;
/** Whether the logger was made with a debug sampling rate (Powertools reads it once, when made). */
let sampling = false;

/** The logger at LOG_LEVEL; made again when LOG_LEVEL changes (tests and tools change it while running). */
function current(): PryvLogger {
  const wanted = (process.env.LOG_LEVEL ?? 'info').toLowerCase();
  if (!logger || wanted !== levelSet) {
    levelSet = wanted;
    const logLevel = (LEVELS.has(wanted) ? wanted : 'info').toUpperCase() as LogLevel;
    logger = new PryvLogger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'pryv', logLevel });
    sampling = Number(process.env.POWERTOOLS_LOGGER_SAMPLE_RATE) > 0;
  }
  return logger;
}

function serialize(fields: Fields): Fields {
  const out: Fields = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v instanceof Error) out[k] = { name: v.name, message: v.message, stack: v.stack };
    else if (v !== undefined) out[k] = v;
  }
  return out;
}

function write(level: 'debug' | 'info' | 'warn' | 'error', message: string, fields: Fields = {}): void {
  const out = current();
  if (levelSet === 'silent') return;
  out[level](message, { ...context.getStore(), ...serialize(fields) });
}

export const log = {
  debug: (message: string, fields?: Fields) => write('debug', message, fields),
  info: (message: string, fields?: Fields) => write('info', message, fields),
  warn: (message: string, fields?: Fields) => write('warn', message, fields),
  error: (message: string, fields?: Fields) => write('error', message, fields),
};

/**
 * Runs `fn` with `fields` added to every line it (and what it awaits) writes, on top of the
 * fields of an enclosing context. Only identifiers and outcomes go here, never secrets.
 */
export function withLogContext<T>(fields: Fields, fn: () => T): T {
  return context.run({ ...context.getStore(), ...serialize(fields) }, fn);
}

/**
 * Runs `fn` outside any log context: work it schedules (a timer) is not charged to the call or
 * batch that happened to schedule it.
 */
export function withoutLogContext<T>(fn: () => T): T {
  return context.exit(fn);
}

/** The correlation fields in force (for work handed on: a queued delivery, a pushed message). */
export function logContext(): Readonly<Fields> {
  return context.getStore() ?? {};
}

/**
 * Decides, once per invocation or call, whether this one logs at debug level (the debug
 * sampling rate); Lambda entry points and the local gateway call it before each request.
 */
export function sampleDebugLogs(): void {
  const out = current();
  // Without a rate, Powertools' refresh only sets the level back to the one it was made with,
  // which nothing else changes: skipped (~1 % of a create's process: test/bench/FINDINGS.md §27).
  if (sampling) out.refreshSampleRateCalculation();
}
