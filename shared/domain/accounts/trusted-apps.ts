import { errors } from '../../errors';

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

let parsed: { setting: string; apps: TrustedApp[] } | undefined;

/**
 * Refuses an app id and origin that no trusted pair matches (401 invalid-credentials), as
 * auth.login and the password-reset routes do. The setting is parsed once per value.
 */
export function assertTrustedApp(setting: string, appId: string | undefined, origin: string | undefined): void {
  if (parsed?.setting !== setting) parsed = { setting, apps: parseTrustedApps(setting) };
  if (!isTrustedApp(parsed.apps, appId, origin)) {
    if (!appId) throw errors.invalidCredentials('The app id ("appId") is missing.');
    if (!origin) {
      throw errors.invalidCredentials('The request has no Origin header: trusted apps are recognised by the origin they call from.');
    }
    throw errors.invalidCredentials(`The app id "${appId.slice(0, 100)}" is not trusted from the origin "${origin.slice(0, 200)}".`);
  }
}
