import { errors } from '../../errors';
import type { StoredEvent } from '../../model/events';
import type { EventHead } from '../../store/events/items';
import type { AccessPermissions } from '../accesses/permissions';
import type { Caller } from '../caller';
import { isHelperStream, isKnownSystemStream, isSystemStreamId, type SystemStreamDefinition, systemStream } from './definitions';
import { checkValue, fieldOf, isActiveValue, setAccountValue } from './values';

/**
 * What `events.create`, `events.update` and `events.delete` may do in account streams
 * (Pryv API reference §7). Every refusal is `400 invalid-operation`, except unknown system
 * streams (`400 unknown-referenced-resource`), a missing permission (`403 forbidden`) and a
 * unique value held by another account (`409 item-already-exists`).
 */

/** The one account field stream of an event's streams (helper marks aside); refuses every other shape. */
function accountFieldOf(streamIds: readonly string[]): SystemStreamDefinition {
  const unknown = streamIds.filter((id) => isSystemStreamId(id) && !isKnownSystemStream(id));
  if (unknown.length > 0) throw errors.unknownReferencedResource('stream(s)', { streamIds: unknown });
  if (streamIds.some((id) => !isSystemStreamId(id))) {
    throw errors.invalidOperation('An account event belongs to its account stream only: it cannot also be in other streams.', {
      streamIds,
    });
  }
  const fields = streamIds.filter((id) => !isHelperStream(id));
  if (fields.length !== 1 || systemStream(fields[0]!)?.type === undefined) {
    throw errors.invalidOperation('An account event belongs to exactly one account field stream.', { streamIds });
  }
  return systemStream(fields[0]!)!;
}

function checkEditable(field: SystemStreamDefinition): void {
  if (!field.editable || !field.shown) {
    throw errors.invalidOperation(`The account stream "${field.id}" is not editable.`, { streamId: field.id });
  }
}

/** `events.create` in an account stream: a new current value of the field. */
export async function createAccountEvent(
  caller: Caller,
  input: {
    id?: string;
    streamIds: string[];
    type: string;
    content?: unknown;
    time?: number;
    description?: string | null;
    clientData?: Record<string, unknown> | null;
    trashed?: boolean;
    duration?: number | null;
  },
  permissions: AccessPermissions,
  options: { hasFiles: boolean; keepHistory: boolean },
): Promise<StoredEvent> {
  if (input.streamIds.some(isHelperStream)) {
    throw errors.invalidOperation('The streams ":_system:active" and ":_system:unique" are set by the server.', {
      streamIds: input.streamIds,
    });
  }
  const field = accountFieldOf(input.streamIds);
  checkEditable(field);
  if (!permissions.canCreateEvent([field.id])) {
    throw errors.forbidden('You do not have the permission to create events in all of these streams.');
  }
  const value = checkValue(field, input.content);
  if (options.hasFiles || input.trashed === true || (input.duration !== undefined && input.duration !== 0 && input.duration !== null)) {
    throw errors.invalidOperation('An account value cannot have attachments, a duration or be created trashed.', { streamId: field.id });
  }
  if (input.duration === null) throw errors.invalidOperation('An account value cannot be a running event.', { streamId: field.id });
  const extra: Partial<StoredEvent> = { type: input.type };
  if (input.id !== undefined) extra.id = input.id;
  if (input.time !== undefined) extra.time = input.time;
  if (input.description !== undefined && input.description !== null) extra.description = input.description;
  if (input.clientData) extra.clientData = input.clientData;
  return setAccountValue({ username: caller.username, now: caller.now, author: caller.author }, field, value, {
    extra,
    keepHistory: options.keepHistory,
  });
}

/**
 * An `events.update` whose event is or would be in account streams: it stays in its one
 * account stream (no move between account streams, no removal, no joining), the field must be
 * editable, the value a string or number, and the current value cannot be trashed.
 * Answers the stream ids to write (the marks kept as they are).
 */
export function checkAccountEventUpdate(
  current: EventHead,
  requested: readonly string[] | undefined,
  next: { content?: unknown; trashed?: boolean; duration?: number | null },
  permissions: AccessPermissions,
): string[] {
  const currentField = fieldOf(current.streamIds);
  if (!currentField) {
    throw errors.invalidOperation('Events cannot be moved into account streams: create a new value there instead.', {
      streamIds: requested,
    });
  }
  if (requested !== undefined) {
    const field = accountFieldOf(requested.filter((id) => !isHelperStream(id)));
    if (field.id !== currentField.id) {
      throw errors.invalidOperation('An account event cannot be moved to another stream, nor lose its account stream.', {
        streamIds: requested,
      });
    }
  }
  checkEditable(currentField);
  if (!permissions.canUpdateEvent([currentField.id])) {
    throw errors.forbidden('You do not have the permission to change this event in these streams.');
  }
  checkValue(currentField, next.content);
  if (next.trashed === true && isActiveValue(current)) {
    throw errors.invalidOperation('The current value of an account field cannot be deleted: set a new value instead.', {
      streamId: currentField.id,
    });
  }
  if (next.duration !== undefined && next.duration !== 0) {
    throw errors.invalidOperation('An account value cannot have a duration.', { streamId: currentField.id });
  }
  return current.streamIds;
}

/** `events.delete` of an account event: never the current value (trashing it included). */
export function checkAccountEventDeletion(head: EventHead): void {
  if (isActiveValue(head)) {
    throw errors.invalidOperation('The current value of an account field cannot be deleted: set a new value instead.', {
      streamId: fieldOf(head.streamIds)?.id,
    });
  }
}
