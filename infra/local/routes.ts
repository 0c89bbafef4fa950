import type { HttpRoute } from '../../shared/api/types';

/**
 * Route matching as API Gateway HTTP APIs do it: exact verb, `{name}` variables match one
 * segment, and of several matches the most specific wins (a literal segment beats a
 * variable, left to right). Trailing slashes are ignored, as the CloudFront front does.
 */
export interface CompiledRoute<T> {
  verb: string;
  segments: string[];
  target: T;
  routeKey: string;
}

export function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

export function compileRoute<T>(route: HttpRoute, target: T): CompiledRoute<T> {
  return { verb: route.verb, segments: splitPath(route.path), target, routeKey: `${route.verb} ${route.path}` };
}

const isVariable = (segment: string) => segment.startsWith('{') && segment.endsWith('}');

/** Negative when a is more specific than b. */
function compareSpecificity(a: string[], b: string[]): number {
  for (let i = 0; i < a.length; i++) {
    const va = isVariable(a[i]!);
    const vb = isVariable(b[i]!);
    if (va !== vb) return va ? 1 : -1;
  }
  return 0;
}

export function matchRoute<T>(
  routes: CompiledRoute<T>[],
  verb: string,
  path: string,
): { route: CompiledRoute<T>; pathParameters: Record<string, string> } | undefined {
  const parts = splitPath(path);
  let best: CompiledRoute<T> | undefined;
  for (const route of routes) {
    if (route.verb !== verb || route.segments.length !== parts.length) continue;
    const fits = route.segments.every((s, i) => isVariable(s) || s === parts[i]);
    if (fits && (!best || compareSpecificity(route.segments, best.segments) < 0)) best = route;
  }
  if (!best) return undefined;
  const pathParameters: Record<string, string> = {};
  best.segments.forEach((s, i) => {
    if (isVariable(s)) {
      const raw = parts[i]!;
      let value = raw;
      try {
        value = decodeURIComponent(raw);
      } catch {
        /* keep the raw segment, as API Gateway does with bad escapes */
      }
      pathParameters[s.slice(1, -1)] = value;
    }
  });
  return { route: best, pathParameters };
}
