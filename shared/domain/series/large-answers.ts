import { newId } from '../../ids';
import { presignedGet, putFile } from '../../store/files';
import { objectKeys } from '../../store/keys';
import type { Caller } from '../caller';
import type { FlatJson, FlatJsonText } from './points';

/**
 * A read answer, serialized once (or given as text with its size in bytes): its JSON when it fits a Lambda response
 * (`DIRECT_TRANSFER_MAX_BYTES`, 4 MB by default, under the 6 MB limit), sent as is by the
 * transport (`ResponseExtras.json`); otherwise stored in the bucket, where it expires with
 * the other short-lived objects, and a presigned link to redirect the caller to, as large
 * attachments are. The linked document is the answer without `meta`. Serializing a
 * 100,000-point answer is a large part of the read's CPU: it is done once, not once to
 * measure and again to send.
 */
export async function seriesAnswer(caller: Caller, answer: FlatJson | FlatJsonText): Promise<{ json: string } | { location: string }> {
  let json: string;
  let bytes: number;
  if ('json' in answer) ({ json, bytes } = answer);
  else {
    json = JSON.stringify(answer);
    // A JSON text is mostly ASCII: its length is its size in bytes unless it holds other characters.
    bytes = json.length <= caller.config.directTransferMaxBytes ? Buffer.byteLength(json) : json.length;
  }
  if (bytes <= caller.config.directTransferMaxBytes) return { json };
  const key = objectKeys.seriesAnswer(caller.username, newId());
  await putFile(key, Buffer.from(json), 'application/json');
  return {
    location: await presignedGet(key, { fileName: 'series.json', type: 'application/json', expiresInS: caller.config.presignTtlS }),
  };
}
