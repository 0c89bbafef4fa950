/**
 * Pryv's `auth.trustedApps`: comma-separated `appIdPattern@originPattern` pairs with `*`
 * wildcards (spec §1.3). A login is allowed only from a trusted (appId, origin) pair.
 */
export interface TrustedApp {
  appId: RegExp;
  origin: RegExp;
}

function wildcard(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

export function parseTrustedApps(setting: string): TrustedApp[] {
  return setting
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((entry) => {
      const at = entry.indexOf('@');
      const appId = at < 0 ? '*' : entry.slice(0, at);
      const origin = at < 0 ? entry : entry.slice(at + 1);
      return { appId: wildcard(appId), origin: wildcard(origin) };
    });
}

export function isTrustedApp(trusted: TrustedApp[], appId: string | undefined, origin: string | undefined): boolean {
  if (!appId || !origin) return false;
  return trusted.some((t) => t.appId.test(appId) && t.origin.test(origin));
}
