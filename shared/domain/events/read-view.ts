import { filesReadTokenSecret } from '../../adapters/secrets';
import type { Access } from '../../model/accesses';
import type { StoredEvent } from '../../model/events';
import { eventForApi } from './fields';

/** An event as the reading access sees it: attachments carry that access's read tokens. */
export async function eventForReader(reader: Pick<Access, 'id' | 'token'>, event: StoredEvent): Promise<Record<string, unknown>> {
  return eventForApi(event, { secret: await filesReadTokenSecret(), access: reader });
}

/** The same for a list (one secret lookup). */
export async function eventsForReader(
  reader: Pick<Access, 'id' | 'token'>,
  events: StoredEvent[],
): Promise<Array<Record<string, unknown>>> {
  const options = { secret: await filesReadTokenSecret(), access: reader };
  return events.map((e) => eventForApi(e, options));
}
