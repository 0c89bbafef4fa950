import type { Access } from '../../model/accesses';
import { apiEndpoint } from './api-endpoint';
import { wireAccessId } from './versions';

/**
 * An access as the API shows it (spec §3.3): internal fields dropped, `apiEndpoint`
 * computed, `calls` only where asked (getAccessInfo), the id versioned once updated
 * (`{id}:{serial}`, spec §2.4 [v2]).
 */
export function accessForApi(
  access: Access,
  publicUrl: string,
  username: string,
  options: { withCalls?: boolean } = {},
): Record<string, unknown> {
  const { sessionExpires: _s, calls, serial: _v, ...rest } = access;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) if (v !== null && v !== undefined) out[k] = v;
  out.id = wireAccessId(access);
  out.apiEndpoint = apiEndpoint(publicUrl, username, access.token);
  if (options.withCalls) out.calls = calls ?? {};
  return out;
}
