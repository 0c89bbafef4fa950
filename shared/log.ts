/**
 * Structured logs: one JSON object per line (Lambda's JSON log format keeps them as is).
 * Callers pass no tokens, passwords or read tokens; errors are reduced to name/message/stack.
 */
type Fields = Record<string, unknown>;

function serialize(fields: Fields): Fields {
  const out: Fields = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v instanceof Error) out[k] = { name: v.name, message: v.message, stack: v.stack };
    else if (v !== undefined) out[k] = v;
  }
  return out;
}

function write(level: string, message: string, fields: Fields = {}): void {
  if (process.env.LOG_LEVEL === 'silent') return;
  if (level === 'debug' && process.env.LOG_LEVEL !== 'debug') return;
  const line = JSON.stringify({ level, message, time: new Date().toISOString(), ...serialize(fields) });
  if (level === 'error' || level === 'warn') console.error(line);
  else console.log(line);
}

export const log = {
  debug: (message: string, fields?: Fields) => write('debug', message, fields),
  info: (message: string, fields?: Fields) => write('info', message, fields),
  warn: (message: string, fields?: Fields) => write('warn', message, fields),
  error: (message: string, fields?: Fields) => write('error', message, fields),
};
