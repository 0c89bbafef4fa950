import { randomBytes } from 'node:crypto';
import { expect, inject } from 'vitest';
import { resetConfig } from '../../shared/config';
import { resetClients } from '../../shared/store/clients';

/** Helpers for integration tests: real HTTP calls to the local runtime. */
export const apiUrl = (): string => inject('apiUrl');
export const adminKey = (): string => inject('adminKey');

/** Points this test worker's store code at the runtime's DynamoDB (for checks behind the API). */
export function useRuntimeStore(): void {
  process.env.DYNAMODB_ENDPOINT = inject('dynamodbEndpoint');
  process.env.S3_ENDPOINT = inject('s3Endpoint');
  process.env.TABLE_NAME = 'pryv-main';
  process.env.BUCKET_NAME = 'pryv-attachments';
  process.env.PUBLIC_URL = inject('apiUrl');
  resetConfig();
  resetClients();
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: any;
}

export async function call(
  verb: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string>; rawBody?: string } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = options.token;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${apiUrl()}${path}`, { method: verb, headers, body, redirect: 'manual' });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** A fresh valid username (tests share one runtime, so names must not collide). */
export function uniqueUsername(prefix = 'user'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

export const TEST_APP_ID = 'test-app-id';
export const TRUSTED_ORIGIN = 'http://127.0.0.1:9999';

export interface TestUser {
  username: string;
  password: string;
  email: string;
  token: string;
}

/** Registers a user through `POST /users`; returns its personal token. */
export async function createUser(overrides: Partial<{ username: string; password: string; email: string }> = {}): Promise<TestUser> {
  const username = overrides.username ?? uniqueUsername();
  const password = overrides.password ?? `pw-${randomBytes(6).toString('hex')}`;
  const email = overrides.email ?? `${username}@example.com`;
  const res = await call('POST', '/users', { body: { username, password, email, appId: TEST_APP_ID } });
  if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${JSON.stringify(res.body)}`);
  const token = new URL(res.body.apiEndpoint).username;
  return { username, password, email, token };
}

export async function login(user: { username: string; password: string }, appId = TEST_APP_ID): Promise<ApiResponse> {
  return call('POST', `/${user.username}/auth/login`, {
    body: { username: user.username, password: user.password, appId },
    headers: { origin: TRUSTED_ORIGIN },
  });
}

/** Asserts a Pryv error answer: HTTP status, error id and, when given, its `data`. */
export function expectError(res: ApiResponse, status: number, id: string, data?: unknown): void {
  expect({ status: res.status, id: res.body?.error?.id }, JSON.stringify(res.body)).toEqual({ status, id });
  if (data !== undefined) expect(res.body.error.data).toEqual(data);
}
