import { describe, expect, it } from 'vitest';
import { compileRoute, matchRoute } from '../../infra/local/routes';
import { METHODS } from '../../shared/api/registry';

const routes = METHODS.flatMap((m) => m.routes.map((r) => compileRoute(r, m.id)));

describe('local route matching (API Gateway rules)', () => {
  it('prefers literal segments over variables', () => {
    expect(matchRoute(routes, 'GET', '/reg/service/info')?.route.target).toBe('service.info');
    expect(matchRoute(routes, 'GET', '/reg/hostings')?.route.target).toBe('reg.hostings');
    expect(matchRoute(routes, 'POST', '/users')?.route.target).toBe('auth.register');
    expect(matchRoute(routes, 'POST', '/alice/')?.route.target).toBe('callBatch');
  });

  it('extracts and decodes path variables', () => {
    const m = matchRoute(routes, 'GET', '/reg/a%40b.ch/check_email');
    expect(m?.route.target).toBe('auth.emailCheck');
    expect(m?.pathParameters).toEqual({ key: 'a@b.ch' });
    expect(matchRoute(routes, 'GET', '/alice/access-info')?.pathParameters).toEqual({ username: 'alice' });
  });

  it('matches the verb exactly and the segment count exactly', () => {
    expect(matchRoute(routes, 'DELETE', '/alice/access-info')).toBeUndefined();
    expect(matchRoute(routes, 'GET', '/alice/access-info/extra')).toBeUndefined();
  });

  it('every registry route is reachable: no route is shadowed by another', () => {
    for (const method of METHODS) {
      for (const route of method.routes) {
        const concrete = route.path.replace(/\{[^}]+\}/g, 'somevalue');
        expect(matchRoute(routes, route.verb, concrete)?.route.target, `${route.verb} ${route.path}`).toBe(method.id);
      }
    }
  });
});
