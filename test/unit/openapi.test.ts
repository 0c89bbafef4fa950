import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { apiDescription } from '../../infra/openapi';
import { METHODS } from '../../shared/api/registry';

/** The OpenAPI document built from the method registry (shared/api/openapi.ts). */

const doc = apiDescription() as any;

async function validate(document: unknown) {
  const validator = new Validator();
  return validator.validate(structuredClone(document) as never);
}

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const result = await validate(doc);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
  });

  it('is refused by the validator when broken (the check above can fail)', async () => {
    const broken = structuredClone(doc);
    broken.paths['/{username}/events'].get.responses = 'none';
    expect((await validate(broken)).valid).toBe(false);
  });

  it('holds every route of every registry method, once, under its method id', () => {
    const routes = METHODS.flatMap((m) => m.routes.map((r) => ({ id: m.id, ...r })));
    for (const route of routes) {
      const op = doc.paths[route.path]?.[route.verb.toLowerCase()];
      expect(op, `${route.verb} ${route.path}`).toBeDefined();
      expect(op['x-pryv-method']).toBe(route.id);
    }
    const operations = Object.values(doc.paths).flatMap((item) => Object.values(item as object));
    expect(operations).toHaveLength(routes.length);
    const ids = operations.map((op) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const method of METHODS) expect(ids).toContain(method.id);
  });

  it('declares each path variable, and the params of GET routes as query parameters', () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      const variables = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const op of Object.values(item as object)) {
        const inPath = (op.parameters ?? []).filter((p: { in: string }) => p.in === 'path').map((p: { name: string }) => p.name);
        expect(inPath, path).toEqual(variables);
      }
    }
    const eventsGet = doc.paths['/{username}/events'].get;
    const query = eventsGet.parameters.filter((p: { in: string }) => p.in === 'query');
    expect(query.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['streams', 'types', 'fromTime', 'limit']));
    expect(query.find((p: { name: string }) => p.name === 'limit').schema).toEqual({ type: 'integer', minimum: 0 });
    expect(eventsGet.requestBody).toBeUndefined();
  });

  it('takes bodies from the method schemas: whole params, one property of them, or files', () => {
    const create = doc.paths['/{username}/events'].post;
    expect(create.requestBody.content['application/json'].schema.required).toEqual(['type']);
    expect(create.requestBody.content['multipart/form-data']).toBeDefined();
    // events.update: the body is the `update` object; `id` comes from the path
    const update = doc.paths['/{username}/events/{id}'].put.requestBody.content['application/json'].schema;
    expect(update.properties.content).toEqual({});
    expect(update.properties.update).toBeUndefined();
    // events.addAttachment: files only
    const attach = doc.paths['/{username}/events/{id}'].post.requestBody;
    expect(Object.keys(attach.content)).toEqual(['multipart/form-data']);
    // a path id is not part of the body, nor of the query
    const slot = doc.paths['/{username}/events/{id}/attachment-uploads'].post.requestBody.content['application/json'].schema;
    expect(Object.keys(slot.properties)).toEqual(['fileName', 'type', 'size']);
    expect(slot.required).toEqual(['fileName', 'type', 'size']);
    const exportStatus = doc.paths['/{username}/account/export/{id}'].get.parameters;
    expect(exportStatus.map((p: { in: string; name: string }) => `${p.in}:${p.name}`)).toEqual(['path:username', 'path:id']);
    // events.getAttachment reads `readToken` from the query
    const download = doc.paths['/{username}/events/{id}/{fileId}'].get;
    expect(download.parameters.map((p: { in: string; name: string }) => `${p.in}:${p.name}`)).toContain('query:readToken');
  });

  it('states who may call, and the Pryv error envelope with the ids each call may answer', () => {
    const schemes = doc.components.securitySchemes;
    expect(schemes.token).toMatchObject({ type: 'apiKey', in: 'header', name: 'Authorization' });
    expect(schemes.tokenQuery).toMatchObject({ type: 'apiKey', in: 'query', name: 'auth' });
    expect(schemes.adminKey).toMatchObject({ type: 'apiKey', in: 'header', name: 'Authorization' });
    expect(doc.paths['/{username}/events'].get.security).toEqual([{ token: [] }, { tokenQuery: [] }]);
    expect(doc.paths['/system/create-user'].post.security).toEqual([{ adminKey: [] }]);
    expect(doc.paths['/reg/service/info'].get.security).toEqual([]);

    expect(doc.components.schemas.Error.properties.error.required).toEqual(['id', 'message']);
    const ids = (
      op: { responses: Record<string, { content: { 'application/json': { schema: { allOf: unknown[] } } } }> },
      status: string,
    ) => (op.responses[status]?.content['application/json'].schema.allOf[1] as any)?.properties.error.properties.id.enum;
    const getOne = doc.paths['/{username}/events/{id}'].get;
    expect(getOne.responses['200']).toBeDefined();
    expect(ids(getOne, '403')).toEqual(['invalid-access-token', 'forbidden']);
    expect(ids(getOne, '404')).toEqual(['unknown-resource']);
    expect(ids(getOne, '503')).toEqual(['api-unavailable']);
    const create = doc.paths['/{username}/events'].post;
    expect(create.responses['201']).toBeDefined();
    expect(ids(create, '415')).toEqual(['unsupported-content-type']);
    // no token, no 401
    expect(doc.paths['/reg/service/info'].get.responses['401']).toBeUndefined();
  });
});
