import type { Access } from '../../model/accesses';
import { apiEndpoint } from './api-endpoint';

/**
 * An access as the API shows it (spec §3.3): internal fields dropped, `apiEndpoint`
 * computed, `calls` only where asked (getAccessInfo).
 */
export function accessForApi(
  access: Access,
  publicUrl: string,
  username: string,
  options: { withCalls?: boolean } = {},
): Record<string, unknown> {
  const { sessionExpires: _s, calls, ...rest } = access;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) if (v !== null && v !== undefined) out[k] = v;
  out.apiEndpoint = apiEndpoint(publicUrl, username, access.token);
  if (options.withCalls) out.calls = calls ?? {};
  return out;
}
