import { createHash } from 'node:crypto';
import { errors } from '../../errors';
import { newId } from '../../ids';
import type { Attachment, StoredEvent } from '../../model/events';
import type { UploadedFile } from '../../model/uploads';
import { adjustAttachedFiles } from '../../store/accounts';
import { type EventHead, eventFromHead } from '../../store/events/items';
import { updateEvent } from '../../store/events/write';
import { deleteFile, headFile, moveFile, presignedPut, putFile, readFile, readFileStream } from '../../store/files';
import { objectKeys } from '../../store/keys';
import type { Caller } from '../caller';
import { nextModified, retryOnStale, STALE } from '../concurrency';
import { sri } from '../integrity/canonical';
import { loadUserData } from '../user-data';
import { sealEvent } from './integrity';
import { keepHistory, loadEvent, placementFor, totalSize } from './write-checks';

/**
 * Attachments (spec §2.2.6): files stored in S3 under their event, listed on it. Files
 * that fit a Lambda request come in a multipart request; larger ones are PUT to a
 * presigned URL and confirmed (our upload slots).
 */

/** Refuses unless the caller may change the event's attachments (contribute or manage on one of its streams). */
async function assertMayChange(caller: Caller, head: EventHead): Promise<void> {
  const { permissions } = await loadUserData(caller);
  if (!permissions.canUpdateEvent(head.streamIds)) throw errors.forbidden('You do not have the permission to change this event.');
}

/** The event (404 if unknown), if the caller may change its attachments. */
async function changeableEvent(caller: Caller, id: string): Promise<EventHead> {
  const head = await loadEvent(caller.username, id);
  await assertMayChange(caller, head);
  return head;
}

/**
 * Stores uploaded files in S3 under the event. Checks every size before writing anything;
 * `cleanUp` removes what was written (for the caller's failure path).
 */
export async function storeUploadedFiles(
  caller: Caller,
  eventId: string,
  files: UploadedFile[],
): Promise<{ attachments: Attachment[]; cleanUp: () => Promise<void> }> {
  const max = caller.config.uploadMaxBytes;
  if (files.some((f) => f.data.length > max)) throw errors.payloadTooLarge(max);
  const attachments: Attachment[] = files.map((f) => ({
    id: newId(),
    fileName: f.fileName,
    type: f.type,
    size: f.data.length,
    integrity: sri(f.data),
  }));
  const written: string[] = [];
  const cleanUp = async () => {
    await Promise.all(written.map((key) => deleteFile(key).catch(() => undefined)));
  };
  try {
    for (const [i, file] of files.entries()) {
      const key = objectKeys.file(caller.username, eventId, attachments[i]!.id);
      written.push(key);
      await putFile(key, file.data, file.type);
    }
  } catch (err) {
    await cleanUp();
    throw err;
  }
  return { attachments, cleanUp };
}

/**
 * Changes an event's attachment list (add or remove), conditionally on the version read
 * like any update; `onFailure` undoes the S3 side when the event cannot be written.
 */
async function changeAttachments(
  caller: Caller,
  id: string,
  change: (current: Attachment[]) => Attachment[],
  options: { onFailure?: () => Promise<void> } = {},
): Promise<StoredEvent> {
  try {
    return await retryOnStale(
      async () => {
        const head = await loadEvent(caller.username, id);
        const current = eventFromHead(head);
        const data = await loadUserData(caller);
        let next: StoredEvent = { ...current, modified: nextModified(caller.now, current.modified), modifiedBy: caller.author };
        const attachments = change(current.attachments ?? []);
        if (attachments.length > 0) next.attachments = attachments;
        else delete next.attachments;
        next = sealEvent(next);
        const outcome = await updateEvent(caller.username, head, next, placementFor(data.tree, next.streamIds), {
          keepHistory: keepHistory(),
          liveStreams: [],
        });
        if (outcome !== 'ok') return STALE;
        await adjustAttachedFiles(caller.username, totalSize(attachments) - totalSize(current.attachments ?? []));
        return next;
      },
      { what: 'event' },
    );
  } catch (err) {
    await options.onFailure?.();
    throw err;
  }
}

/** `events.addAttachment`: files of a multipart request added to an existing event. */
export async function addAttachments(caller: Caller, id: string, files: UploadedFile[]): Promise<StoredEvent> {
  const head = await loadEvent(caller.username, id);
  if (files.length === 0) throw errors.invalidRequestStructure('Send the files to attach as multipart/form-data parts.');
  await assertMayChange(caller, head);
  const added = await storeUploadedFiles(caller, id, files);
  return changeAttachments(caller, id, (current) => [...current, ...added.attachments], { onFailure: added.cleanUp });
}

/** `events.deleteAttachment`: the file leaves the event, then S3. */
export async function deleteAttachment(caller: Caller, id: string, fileId: string): Promise<StoredEvent> {
  const head = await changeableEvent(caller, id);
  if (!(head.attachments ?? []).some((a) => a.id === fileId)) throw errors.unknownResource('attachment', fileId);
  const event = await changeAttachments(caller, id, (current) => {
    if (!current.some((a) => a.id === fileId)) throw errors.unknownResource('attachment', fileId);
    return current.filter((a) => a.id !== fileId);
  });
  await deleteFile(objectKeys.file(caller.username, id, fileId));
  return event;
}

/**
 * Large files, step 1 (`events.createAttachmentUpload`): a URL to PUT the bytes to (with the
 * same Content-Type and Content-Length) and the `fileId` to confirm with. Unconfirmed
 * uploads expire with the bucket's lifecycle rule.
 */
export async function createUploadSlot(caller: Caller, id: string, file: { fileName: string; type: string; size: number }) {
  const { config, username, now } = caller;
  if (file.size > config.uploadMaxBytes) throw fileTooLarge(file.size, config.uploadMaxBytes);
  await changeableEvent(caller, id);
  const fileId = newId();
  const slot: UploadSlot = { size: file.size, type: file.type };
  await putFile(objectKeys.pendingSlot(username, id, fileId), Buffer.from(JSON.stringify(slot)), 'application/json');
  const url = await presignedPut(objectKeys.pendingFile(username, id, fileId), {
    type: file.type,
    size: file.size,
    expiresInS: config.presignTtlS,
  });
  return {
    fileId,
    url,
    method: 'PUT',
    headers: { 'Content-Type': file.type, 'Content-Length': String(file.size) },
    expires: now + config.presignTtlS,
    confirm: `${config.publicUrl}/${username}/events/${id}/attachment-uploads/${fileId}`,
    fileName: file.fileName,
  };
}

/** What a slot was given for: the object PUT to it must match (S3 enforces the signed headers, the local emulator does not). */
interface UploadSlot {
  size: number;
  type: string;
}

const fileTooLarge = (size: number, max: number) =>
  errors.payloadTooLarge(max, `The file (\`size\` ${size} bytes) exceeds the largest attachment allowed, ${max} bytes.`, { param: 'size' });

async function readSlot(key: string): Promise<UploadSlot | undefined> {
  const file = await readFile(key);
  if (!file) return undefined;
  return JSON.parse(file.data.toString('utf8')) as UploadSlot;
}

async function sha256Of(key: string): Promise<string> {
  const { body } = await readFileStream(key);
  const hash = createHash('sha256');
  for await (const chunk of body) hash.update(chunk as Buffer);
  return `sha256-${hash.digest('base64')}`;
}

/**
 * Step 2 (`events.confirmAttachmentUpload`): the file is in S3. It must be what the slot
 * was given for (size and type), else it is deleted and nothing is attached; it becomes an
 * attachment with its `integrity` computed like a direct upload's.
 */
export async function confirmUpload(caller: Caller, id: string, fileId: string, fileName: string): Promise<StoredEvent> {
  const { config, username } = caller;
  await changeableEvent(caller, id);
  const pending = objectKeys.pendingFile(username, id, fileId);
  const slotKey = objectKeys.pendingSlot(username, id, fileId);
  const slot = await readSlot(slotKey);
  const stored = slot && (await headFile(pending));
  if (!slot || !stored) throw errors.unknownResource('upload', fileId);
  const discard = () => Promise.all([deleteFile(pending), deleteFile(slotKey)]);
  if (stored.size > config.uploadMaxBytes) {
    await discard();
    throw fileTooLarge(stored.size, config.uploadMaxBytes);
  }
  if (stored.size !== slot.size || stored.type !== slot.type) {
    await discard();
    throw errors.invalidParametersFormat(
      `The uploaded file does not match its upload slot: ${stored.size} bytes of type "${stored.type}" arrived, the slot was for ` +
        `${slot.size} bytes of type "${slot.type}". The file was discarded: ask for a new slot and PUT exactly that many bytes with that Content-Type.`,
      { expected: slot, received: { size: stored.size, type: stored.type } },
    );
  }
  const integrity = await sha256Of(pending);
  const final = objectKeys.file(username, id, fileId);
  await moveFile(pending, final);
  await deleteFile(slotKey);
  const attachment: Attachment = { id: fileId, fileName, type: stored.type, size: stored.size, integrity };
  return changeAttachments(caller, id, (current) => [...current, attachment], { onFailure: () => deleteFile(final) });
}
