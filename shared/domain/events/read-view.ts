import type { MethodContext } from '../../api/types';
import type { StoredEvent } from '../../model/events';
import { eventForApi } from './fields';
import { filesReadTokenSecret } from '../../adapters/secrets';

/** An event as the calling access sees it: attachments carry that access's read tokens. */
export async function eventForReader(ctx: MethodContext, event: StoredEvent): Promise<Record<string, unknown>> {
  return eventForApi(event, { secret: await filesReadTokenSecret(), access: ctx.access });
}

/** The same for a list (one secret lookup). */
export async function eventsForReader(ctx: MethodContext, events: StoredEvent[]): Promise<Array<Record<string, unknown>>> {
  const reader = { secret: await filesReadTokenSecret(), access: ctx.access };
  return events.map((e) => eventForApi(e, reader));
}
