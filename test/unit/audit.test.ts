import { describe, expect, it } from 'vitest';
import { queryShape } from '../../shared/api/audit-calls';
import { METHODS } from '../../shared/api/registry';
import { auditEvent, auditStreamsOf, readableAccessIds } from '../../shared/domain/audit/log';
import type { Access } from '../../shared/model/accesses';

const access = (type: Access['type'], permissions: Access['permissions'] = []): Access => ({
  id: 'cme',
  token: 'tok',
  type,
  name: 'n',
  permissions,
  created: 0,
  createdBy: 'x',
  modified: 0,
  modifiedBy: 'x',
});

describe('audit query shape', () => {
  it('keeps filters and ids, reduces content to its type, drops secrets at any depth', () => {
    expect(
      queryShape('events.create', {
        streamIds: ['a'],
        type: 'note/txt',
        content: 'private words',
        description: 'more',
        clientData: { x: 1 },
        password: 'p',
        token: 't',
      }),
    ).toEqual({ streamIds: ['a'], type: 'note/txt', content: '<string>', description: '<string>', clientData: '<object>' });
    expect(queryShape('events.get', { streams: { any: ['a'], readToken: 'r' }, limit: 3, fromTime: 1 })).toEqual({
      streams: { any: ['a'] },
      limit: 3,
      fromTime: 1,
    });
    expect(queryShape('events.update', { id: 'e', update: { content: 5, streamIds: ['b'] } })).toEqual({
      id: 'e',
      update: { content: '<number>', streamIds: ['b'] },
    });
    expect(
      queryShape('callBatch', [
        { method: 'events.get', params: { auth: 'x' } },
        { method: 'streams.get', params: {} },
      ]),
    ).toEqual({ calls: ['events.get', 'streams.get'] });
    expect(queryShape('account.changePassword', { oldPassword: 'a', newPassword: 'b' })).toEqual({});
  });

  it('records every filter of the read methods as given, but those naming a person or holding a secret', () => {
    const personal = new Set(['username', 'email', 'ip']); // kept out: a pseudonymised record must not hold them
    // Content-query conditions hold values of the user's own data (a drug code, a name): shape only.
    const content = new Set(['content', 'clientData']);
    const checked: string[] = [];
    for (const method of METHODS.filter((m) => m.routes.some((r) => r.verb === 'GET'))) {
      const names = Object.keys((method.params as { properties?: Record<string, unknown> }).properties ?? {});
      for (const name of names) {
        const shape = queryShape(method.id, { [name]: 'asked' }) as Record<string, unknown>;
        if (/token|password|secret/i.test(name)) expect(shape, `${method.id} ${name}`).toEqual({});
        else if (personal.has(name) || content.has(name)) expect(shape[name], `${method.id} ${name}`).toBe('<string>');
        else expect(shape[name], `${method.id} ${name}`).toBe('asked');
        checked.push(`${method.id}.${name}`);
      }
    }
    expect(checked).toEqual(
      expect.arrayContaining([
        'accesses.get.includeExpired',
        'accesses.get.includeDeletions',
        'audit.getLogs.action',
        'events.get.streams',
      ]),
    );
    expect(queryShape('accesses.get', { includeExpired: true, includeDeletions: true })).toEqual({
      includeExpired: true,
      includeDeletions: true,
    });
  });

  it('falls back to shapes when a query is too long to keep', () => {
    const out = queryShape('events.get', { streams: Array.from({ length: 500 }, (_, i) => `stream-${i}`), limit: 1 }) as Record<
      string,
      unknown
    >;
    expect(out).toEqual({ streams: '<array:500>', limit: '<number>' });
  });
});

describe('audit visibility', () => {
  it('personal: all; app/shared: own id plus granted :_audit:access- streams; selfAudit forbidden removes its own', () => {
    expect(readableAccessIds(access('personal'))).toEqual({ all: true });
    expect(readableAccessIds(access('shared'))).toEqual({ all: false, ids: new Set(['cme']) });
    expect(
      readableAccessIds(
        access('app', [
          { streamId: ':_audit:access-other', level: 'read' },
          { streamId: ':_audit:access-no', level: 'none' },
        ]),
      ),
    ).toEqual({
      all: false,
      ids: new Set(['cme', 'other']),
    });
    expect(readableAccessIds(access('app', [{ feature: 'selfAudit', setting: 'forbidden' }]))).toEqual({ all: false, ids: new Set() });
  });
});

describe(':_audit: streams in events.get', () => {
  it('recognises the audit store in every streams syntax, and nothing else', () => {
    expect(auditStreamsOf(':_audit:')).toEqual([':_audit:']);
    expect(auditStreamsOf([':_audit:access-x'])).toEqual([':_audit:access-x']);
    expect(auditStreamsOf('[":_audit:"]')).toEqual([':_audit:']);
    expect(auditStreamsOf({ any: [':_audit:action-events.get'] })).toEqual([':_audit:action-events.get']);
    expect(auditStreamsOf(['health'])).toBeUndefined();
    expect(auditStreamsOf(undefined)).toBeUndefined();
    expect(auditStreamsOf('[not json')).toBeUndefined();
  });

  it('renders a record as a Pryv audit event', () => {
    const ok = auditEvent({
      id: 'c1',
      time: 5,
      accessId: 'a1',
      action: 'events.get',
      status: 200,
      source: { name: 'http', ip: '1.2.3.4' },
      query: { limit: 1 },
    });
    expect(ok).toMatchObject({
      id: ':_audit:c1',
      type: 'audit-log/pryv-api',
      streamIds: [':_audit:access-a1', ':_audit:action-events.get'],
      createdBy: 'system',
    });
    const failed = auditEvent({
      id: 'c2',
      time: 5,
      accessId: 'a1',
      action: 'events.get',
      status: 403,
      errorId: 'forbidden',
      errorMessage: 'no',
      source: { name: 'http' },
    });
    expect(failed).toMatchObject({ type: 'audit-log/pryv-api-error', content: { error: { id: 'forbidden', message: 'no' } } });
  });
});
