/**
 * What each API call costs in DynamoDB, measured from inside the process the handlers run
 * in: a middleware on the SDK client sees every request, asks for its consumed capacity
 * and counts the items it read and wrote; the request is charged to the API call that
 * made it.
 *
 * Attribution: the bench sends each call with an `x-bench-call` header; a listener placed
 * before the local gateway's own enters an AsyncLocalStorage scope for that request, which
 * every asynchronous step of its handler inherits. Requests made outside any call (the
 * webhook worker's polling, seeding) land in no call.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Server } from 'node:http';
import { useTableMiddleware } from '../../shared/store/clients';

export const CALL_HEADER = 'x-bench-call';

/** One DynamoDB request, as the bench reports it. */
export interface RequestRecord {
  /** Operation and key shape, with user names and ids masked: `Query ES#{u}#{stream}#a d-range`. */
  label: string;
  op: string;
  rcu: number;
  wcu: number;
  /** Items the request read (Query: ScannedCount; GetItem: 0 or 1; BatchGetItem: responses). */
  itemsRead: number;
  /** Items it wrote or deleted (transactions: every Put/Update/Delete; condition checks not counted). */
  itemsWritten: number;
  /** Condition checks inside a transaction (read capacity DynamoDB charges at write cost). */
  checks: number;
}

const scope = new AsyncLocalStorage<string>();
const byCall = new Map<string, RequestRecord[]>();

/** The requests a call made (and forgets them). */
export function takeCall(id: string): RequestRecord[] {
  const records = byCall.get(id) ?? [];
  byCall.delete(id);
  return records;
}

/** Enters a call's scope for every request the gateway serves with the bench header. */
export function attributeGatewayRequests(server: Server): void {
  server.prependListener('request', (req) => {
    const id = req.headers[CALL_HEADER];
    if (typeof id === 'string') scope.enterWith(id);
  });
}

type Attr = Record<string, unknown> | string | number | undefined;
/** A string key attribute, marshalled (`{S: …}`) or not. */
const str = (v: Attr): string => (typeof v === 'object' && v !== null ? String((v as { S?: string }).S ?? '') : String(v ?? ''));

/** Masks what varies between calls (user, ids, times) so equal requests get equal labels. */
export function maskKey(pk: string, sk: string | undefined, username: string | undefined): string {
  let p = username ? pk.split(username).join('{u}') : pk;
  p = p
    .replace(/^ES#\{u\}#.+#([at])$/, 'ES#{u}#{stream}#$1')
    .replace(/^EH#\{u\}#.+$/, 'EH#{u}#{id}')
    .replace(/^HF#\{u\}#.+$/, 'HF#{u}#{id}');
  if (sk === undefined) return p;
  if (p.startsWith('USER#')) {
    const cut = sk.indexOf('#');
    return `${p} ${cut < 0 || cut === sk.length - 1 ? sk : `${sk.slice(0, cut + 1)}…`}`;
  }
  if (p.startsWith('ES#')) return `${p} ${sk.slice(0, 2)}…`;
  return p;
}

function skShape(input: Record<string, unknown>): string {
  const cond = String(input.KeyConditionExpression ?? '');
  const values = (input.ExpressionAttributeValues ?? {}) as Record<string, Attr>;
  if (/BETWEEN/i.test(cond)) {
    const lo = str(values[':lo'] ?? values[':from']);
    return lo.startsWith('d#') ? ' d-range' : lo.startsWith('i#') ? ' i-range' : ' range';
  }
  if (/begins_with/i.test(cond)) {
    const prefix = Object.entries(values).find(([k]) => k !== ':pk')?.[1];
    return ` begins ${str(prefix)}`;
  }
  if (/>/.test(cond)) return ' sk >';
  return '';
}

function describe(op: string, input: Record<string, unknown>, username: string | undefined): string {
  const mask = (key: Record<string, Attr> | undefined) => maskKey(str(key?.pk), key?.sk === undefined ? undefined : str(key.sk), username);
  switch (op) {
    case 'GetItem':
    case 'UpdateItem':
    case 'PutItem':
    case 'DeleteItem': {
      const key = (input.Key ?? input.Item) as Record<string, Attr>;
      return `${op} ${mask(key)}`;
    }
    case 'Query': {
      const values = (input.ExpressionAttributeValues ?? {}) as Record<string, Attr>;
      return `Query ${maskKey(str(values[':pk']), undefined, username)}${skShape(input)}${input.IndexName ? ` (${String(input.IndexName)})` : ''}`;
    }
    case 'BatchWriteItem': {
      const requests = Object.values(
        (input.RequestItems ?? {}) as Record<string, Array<Record<string, { Item?: Record<string, Attr>; Key?: Record<string, Attr> }>>>,
      ).flat();
      const pks = [...new Set(requests.map((r) => maskKey(str((r.PutRequest?.Item ?? r.DeleteRequest?.Key)?.pk), undefined, username)))];
      return `BatchWriteItem ×${requests.length} ${pks.join(', ')}`;
    }
    case 'TransactWriteItems': {
      const items = (input.TransactItems ?? []) as Array<Record<string, { Key?: Record<string, Attr>; Item?: Record<string, Attr> }>>;
      const parts = new Map<string, number>();
      for (const item of items) {
        const [kind, body] = Object.entries(item)[0]!;
        const key = body.Item ?? body.Key ?? {};
        const name = `${kind} ${mask(key)}`;
        parts.set(name, (parts.get(name) ?? 0) + 1);
      }
      return `TransactWriteItems ×${items.length} [${[...parts].map(([n, c]) => (c > 1 ? `${n} ×${c}` : n)).join(', ')}]`;
    }
    case 'BatchExecuteStatement': {
      const verbs = new Map<string, number>();
      for (const { Statement } of (input.Statements ?? []) as Array<{ Statement?: string }>) {
        const verb = /^\s*(\w+)/.exec(Statement ?? '')?.[1]?.toUpperCase() ?? '?';
        verbs.set(verb, (verbs.get(verb) ?? 0) + 1);
      }
      return `BatchExecuteStatement [${[...verbs].map(([v, c]) => `${v} ×${c}`).join(', ')}]`;
    }
    default:
      return op;
  }
}

function usernameOf(input: Record<string, unknown>): string | undefined {
  const candidates: string[] = [];
  const key = (input.Key ?? input.Item) as Record<string, Attr> | undefined;
  if (key?.pk) candidates.push(str(key.pk));
  const values = (input.ExpressionAttributeValues ?? {}) as Record<string, Attr>;
  if (values[':pk']) candidates.push(str(values[':pk']));
  const tx = (input.TransactItems ?? []) as Array<Record<string, { Key?: Record<string, Attr>; Item?: Record<string, Attr> }>>;
  for (const item of tx) for (const body of Object.values(item)) candidates.push(str((body.Item ?? body.Key)?.pk));
  const batch = Object.values(
    (input.RequestItems ?? {}) as Record<string, Array<Record<string, { Item?: Record<string, Attr>; Key?: Record<string, Attr> }>>>,
  ).flat();
  for (const r of batch) candidates.push(str((r.PutRequest?.Item ?? r.DeleteRequest?.Key)?.pk));
  for (const c of candidates) {
    const m = /^(?:USER|EV|EM|ER|AUDIT)#([^#]+)$/.exec(c) ?? /^(?:ES|EH)#([^#]+)#/.exec(c);
    if (m) return m[1];
  }
  return undefined;
}

function record(call: string, r: RequestRecord): void {
  const list = byCall.get(call) ?? [];
  list.push(r);
  byCall.set(call, list);
}

const READ_OPS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);

/** Installs the meter on the handlers' DynamoDB client (once per process). */
export function instrument(): void {
  useTableMiddleware((stack) =>
    stack.add(
      (next, context) => async (args) => {
        const call = scope.getStore();
        if (call === undefined) return next(args);
        const op = String((context as { commandName?: string }).commandName ?? '').replace(/Command$/, '');
        const input = args.input as Record<string, unknown>;
        input.ReturnConsumedCapacity = 'TOTAL';
        let out: Awaited<ReturnType<typeof next>>;
        try {
          out = await next(args);
        } catch (err) {
          // A refused condition or transaction still cost a request (its capacity is not returned).
          record(call, {
            label: `${describe(op, input, usernameOf(input))} (failed: ${(err as Error).name})`,
            op,
            rcu: 0,
            wcu: 0,
            itemsRead: 0,
            itemsWritten: 0,
            checks: 0,
          });
          throw err;
        }
        const output = out.output as unknown as Record<string, unknown>;
        const consumed = output.ConsumedCapacity as { CapacityUnits?: number } | Array<{ CapacityUnits?: number }> | undefined;
        const units = (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []).reduce((s, c) => s + (c.CapacityUnits ?? 0), 0);
        const r: RequestRecord = {
          label: describe(op, input, usernameOf(input)),
          op,
          rcu: READ_OPS.has(op) ? units : 0,
          wcu: READ_OPS.has(op) ? 0 : units,
          itemsRead: 0,
          itemsWritten: 0,
          checks: 0,
        };
        if (op === 'Query' || op === 'Scan')
          r.itemsRead = Number(output.ScannedCount ?? (output.Items as unknown[] | undefined)?.length ?? 0);
        else if (op === 'GetItem') r.itemsRead = output.Item ? 1 : 0;
        else if (op === 'BatchGetItem' || op === 'TransactGetItems') {
          const responses = output.Responses as Record<string, unknown[]> | unknown[] | undefined;
          r.itemsRead = Array.isArray(responses) ? responses.length : Object.values(responses ?? {}).reduce((s, r) => s + r.length, 0);
        } else if (op === 'BatchExecuteStatement') {
          r.itemsWritten = ((input.Statements ?? []) as unknown[]).length;
        } else if (op === 'BatchWriteItem') {
          r.itemsWritten = Object.values((input.RequestItems ?? {}) as Record<string, unknown[]>).reduce((s, r) => s + r.length, 0);
        } else if (op === 'TransactWriteItems') {
          for (const item of (input.TransactItems ?? []) as Array<Record<string, unknown>>) {
            if (item.ConditionCheck) r.checks++;
            else r.itemsWritten++;
          }
        } else if (op === 'PutItem' || op === 'UpdateItem' || op === 'DeleteItem') r.itemsWritten = 1;
        record(call, r);
        return out;
      },
      // The low-level client's commands: the wire form of the request and answer.
      { step: 'serialize', name: 'benchRequestMeter', priority: 'high' },
    ),
  );
}
