import type { Access } from '../../model/accesses';
import { apiEndpoint } from './api-endpoint';
import { wireAccessId } from './versions';

/**
 * An access's own fields as the API shows them (spec §3.3): internal fields dropped, nulls
 * omitted, the id versioned once updated (`{id}:{serial}`, spec §2.4 [v2]). What its
 * integrity covers (with `lastUsed` left out: domain/integrity/canonical.ts).
 */
export function accessFields(access: Access): Record<string, unknown> {
  const { sessionExpires: _s, calls: _c, serial: _v, ...rest } = access;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) if (v !== null && v !== undefined) out[k] = v;
  out.id = wireAccessId(access);
  return out;
}

/**
 * An access as the API shows it: its fields, `apiEndpoint` computed, `calls` only where
 * asked (getAccessInfo).
 */
export function accessForApi(
  access: Access,
  publicUrl: string,
  username: string,
  options: { withCalls?: boolean } = {},
): Record<string, unknown> {
  const out = accessFields(access);
  out.apiEndpoint = apiEndpoint(publicUrl, username, access.token);
  if (options.withCalls) out.calls = access.calls ?? {};
  return out;
}
