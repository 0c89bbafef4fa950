import { newId } from '../../ids';
import { presignedGet, putFile } from '../../store/files';
import { objectKeys } from '../../store/keys';
import type { Caller } from '../caller';
import type { FlatJson } from './points';

/**
 * A read answer too large for a Lambda response (`DIRECT_TRANSFER_MAX_BYTES`, 4 MB by default,
 * under the 6 MB limit) goes to the bucket, where it expires with the other short-lived
 * objects, and the caller is redirected to a presigned link, as large attachments are. The
 * linked document is the answer without `meta`. Answers `undefined` when the answer fits.
 */
export async function storeSeriesAnswer(caller: Caller, answer: FlatJson): Promise<string | undefined> {
  // ~16 bytes a number is the most JSON spends on one; only a candidate is serialized to know.
  const estimate = answer.points.length * (answer.fields.length * 24 + 2);
  if (estimate <= caller.config.directTransferMaxBytes) return undefined;
  const body = Buffer.from(JSON.stringify(answer));
  if (body.length <= caller.config.directTransferMaxBytes) return undefined;
  const key = objectKeys.seriesAnswer(caller.username, newId());
  await putFile(key, body, 'application/json');
  return presignedGet(key, { fileName: 'series.json', type: 'application/json', expiresInS: caller.config.presignTtlS });
}
