import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract as tarExtract } from 'tar-stream';
import { LIMITS } from '../../limits';
import type { StoredEvent } from '../../model/events';
import type { FollowedSlice } from '../../model/followed-slices';
import type { SeriesRows } from '../../model/series';
import type { StoredStream } from '../../model/streams';
import { accountItemPages } from '../../store/account-items';
import { adjustAttachedFiles, adjustDbDocuments } from '../../store/accounts';
import { batchPut } from '../../store/batch';
import { addCounters } from '../../store/call-records';
import { newEventItems } from '../../store/events/items';
import { eventDeletionItems, eventHistoryItem } from '../../store/events/write';
import { putFile, readFileStream } from '../../store/files';
import { createFollowedSlice } from '../../store/followed-slices';
import { objectKeys } from '../../store/keys';
import { profileItem } from '../../store/profiles';
import { writeSeries } from '../../store/series/chunks';
import { bumpTreeVersion, loadStreams, raiseMaxDuration, streamDeletionItem, streamItems } from '../../store/streams';
import { beforeRewritingEvents } from '../events/answer-cache';
import { deletionIntegrity, sealEvent } from '../events/integrity';
import { beforeStoringRunning } from '../events/running';
import { placementFor } from '../events/write-checks';
import { StreamTree } from '../streams/tree';
import { hasSystemStreams } from '../system-streams/values';
import { ARCHIVE_FORMAT, ARCHIVE_VERSION, type Manifest } from './export-archive';
import { JobProgressReporter } from './progress';

/**
 * Restores an export archive (export-archive.ts) into an empty account: streams with their
 * deletion records, events with history and deletion records, profile sets, attachment
 * files — with their ids, times and authorship as exported, so `streams.get` and
 * `events.get` answer the same. Accesses and webhooks are not restored: they are
 * credentials given to third parties by the old account (tokens and secrets are not in the
 * archive); the user grants them again.
 *
 * The archive is first unpacked to a temporary folder and every file checked against the
 * manifest (size and SHA-256): a damaged or altered archive writes nothing.
 */
const MAX_ARCHIVE_ENTRIES = 5_000_000; // guards the unpacking against a hostile archive
const SAFE_PATH = /^(?:[a-z-]+\.jsonl?|manifest\.json|attachments\/[A-Za-z0-9_-]{1,100}\/[A-Za-z0-9_-]{1,100})$/;
const WRITE_CHUNK = 500; // items buffered before a batch write

export class ArchiveError extends Error {}

async function unpack(body: Readable, dir: string): Promise<Map<string, { size: number; sha256: string }>> {
  const seen = new Map<string, { size: number; sha256: string }>();
  const extract = tarExtract();
  const unpacking = (async () => {
    for await (const entry of extract) {
      const name = entry.header.name;
      if (entry.header.type !== 'file' || !SAFE_PATH.test(name) || seen.has(name) || seen.size >= MAX_ARCHIVE_ENTRIES) {
        throw new ArchiveError(`unexpected archive entry "${name.slice(0, 120)}"`);
      }
      const target = join(dir, name);
      mkdirSync(dirname(target), { recursive: true });
      const hash = createHash('sha256');
      let size = 0;
      await pipeline(
        entry,
        new Transform({
          transform(chunk: Buffer, _enc, done) {
            hash.update(chunk);
            size += chunk.length;
            done(null, chunk);
          },
        }),
        createWriteStream(target),
      );
      seen.set(name, { size, sha256: hash.digest('hex') });
    }
  })();
  try {
    await Promise.all([pipeline(body, createGunzip(), extract), unpacking]);
  } catch (err) {
    if (isFormatError(err)) throw new ArchiveError('the file is not an export archive (a gzip-compressed tar file)');
    throw err;
  }
  return seen;
}

/** zlib's and tar-stream's own complaints about their input: a user's wrong file, not a fault of ours. */
function isFormatError(err: unknown): boolean {
  if (!(err instanceof Error) || err instanceof ArchiveError) return false;
  const code = (err as { code?: unknown }).code;
  return (
    (typeof code === 'string' && code.startsWith('Z_')) ||
    /^(Invalid (tar )?header|Header exceeds max size|Unexpected end of data)/.test(err.message)
  );
}

function checkManifest(dir: string, seen: Map<string, { size: number; sha256: string }>): Manifest {
  if (!seen.has('manifest.json')) throw new ArchiveError('the archive has no manifest');
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  if (manifest.format !== ARCHIVE_FORMAT || manifest.version !== ARCHIVE_VERSION) throw new ArchiveError('unknown archive format');
  const listed = new Set<string>();
  for (const f of manifest.files) {
    const got = seen.get(f.path);
    if (!got || got.size !== f.size || got.sha256 !== f.sha256) throw new ArchiveError(`"${f.path}" does not match the manifest`);
    listed.add(f.path);
  }
  for (const name of seen.keys())
    if (name !== 'manifest.json' && !listed.has(name)) throw new ArchiveError(`"${name}" is not in the manifest`);
  return manifest;
}

async function* lines<T>(dir: string, name: string, present: boolean): AsyncGenerator<T> {
  if (!present) return;
  const rl = createInterface({ input: createReadStream(join(dir, name)), crlfDelay: Infinity });
  for await (const line of rl) if (line.trim()) yield JSON.parse(line) as T;
}

/** Rows as exported: ascending finite times, every column as long as the times. */
function isSeriesChunk(rows: Partial<SeriesRows>): rows is SeriesRows {
  const { deltaTimes, columns } = rows;
  if (!Array.isArray(deltaTimes) || typeof columns !== 'object' || columns === null) return false;
  if (!deltaTimes.every((t, i) => typeof t === 'number' && Number.isFinite(t) && (i === 0 || t > deltaTimes[i - 1]!))) return false;
  return Object.values(columns).every((c) => Array.isArray(c) && c.length === deltaTimes.length);
}

/**
 * Fails unless the account holds no streams and no events (an import never merges); its own
 * account events (its email, language…, Pryv API reference §7) do not count.
 */
export async function assertEmptyAccount(username: string): Promise<void> {
  const streams = (await loadStreams(username)).streams.length > 0;
  if (streams) throw new ArchiveError('the account is not empty');
  for await (const page of accountItemPages(username, 'eventHeads')) {
    if (page.some((item) => !Array.isArray(item.streamIds) || !hasSystemStreams(item.streamIds as string[]))) {
      throw new ArchiveError('the account is not empty');
    }
  }
}

/**
 * Imports the archive at `archiveKey`; answers the counts written. `progress` is told the
 * counts as they go, against the totals the manifest states (series points: counted in the
 * unpacked archive first).
 */
export async function importArchive(
  username: string,
  archiveKey: string,
  progress: JobProgressReporter = new JobProgressReporter(async () => undefined),
): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'pryv-import-'));
  let streamsWritten = false;
  try {
    await assertEmptyAccount(username);
    // Events go in with their archived `modified`: cached reads of this account must know first.
    await beforeRewritingEvents(username, Date.now() / 1000, LIMITS.jobSeconds);
    const seen = await unpack((await readFileStream(archiveKey)).body, dir);
    const manifest = checkManifest(dir, seen);
    const has = (name: string) => seen.has(name);
    let seriesTotal = 0;
    for await (const line of lines<Partial<SeriesRows>>(dir, 'series.jsonl', has('series.jsonl'))) {
      seriesTotal += Array.isArray(line.deltaTimes) ? line.deltaTimes.length : 0;
    }
    const stated = (name: string) => (Number.isSafeInteger(manifest.counts?.[name]) ? manifest.counts[name]! : 0);
    progress.total('streams', stated('streams.jsonl'));
    progress.total('events', stated('events.jsonl'));
    progress.total('attachments', stated('attachments'));
    progress.total('seriesPoints', seriesTotal);
    await progress.flush();
    const counts: Record<string, number> = {};
    const buffer: Array<Record<string, unknown>> = [];
    const put = async (items: Array<Record<string, unknown>>, force = false) => {
      buffer.push(...items);
      if (buffer.length >= WRITE_CHUNK || (force && buffer.length > 0)) await batchPut(buffer.splice(0, buffer.length));
    };

    const streams: StoredStream[] = [];
    for await (const s of lines<StoredStream>(dir, 'streams.jsonl', has('streams.jsonl'))) streams.push(s);
    const tree = new StreamTree(streams);
    for (const s of streams) {
      streamsWritten = true;
      await put(streamItems(username, s));
      progress.add('streams');
    }
    counts.streams = streams.length;
    for await (const d of lines<{ id: string; deleted: number }>(dir, 'stream-deletions.jsonl', has('stream-deletions.jsonl'))) {
      await put([streamDeletionItem(username, d.id, d.deleted)]);
    }

    // A period goes in after the data meta's maxDuration covers it, as for any write of one: a
    // range read looks back that far from its start, so a period stored first would be missed by
    // reads made during the import, and after an import that stopped half-way.
    let maxDuration = 0;
    for await (const line of lines<StoredEvent>(dir, 'events.jsonl', has('events.jsonl'))) {
      if (Array.isArray(line.streamIds) && hasSystemStreams(line.streamIds)) continue;
      if (typeof line.duration === 'number' && line.duration > maxDuration) maxDuration = line.duration;
    }
    if (maxDuration > 0) await raiseMaxDuration(username, maxDuration);
    let runningFrom: number | undefined;
    let attachedBytes = 0;
    counts.events = 0;
    const holders = new Set<string>();
    const skipped = new Set<string>();
    // Integrity is computed again as items are written here (the archive's own values are not trusted).
    for await (const line of lines<StoredEvent>(dir, 'events.jsonl', has('events.jsonl'))) {
      // The archive's account values belong to the account it came from: this account keeps its own.
      if (Array.isArray(line.streamIds) && hasSystemStreams(line.streamIds)) {
        skipped.add(line.id);
        progress.add('events');
        continue;
      }
      const e = sealEvent(line);
      // A running event's items go in after the data meta covers it (as for any write of one).
      runningFrom = await beforeStoringRunning(username, runningFrom, e);
      await put(newEventItems(username, e, placementFor(tree, e.streamIds)));
      if (e.type.startsWith('series:')) holders.add(e.id);
      for (const a of e.attachments ?? []) {
        const path = `attachments/${e.id}/${a.id}`;
        if (!has(path)) throw new ArchiveError(`attachment "${path}" missing`);
        await putFile(objectKeys.file(username, e.id, a.id), readFileSync(join(dir, path)), a.type);
        attachedBytes += a.size;
        progress.add('attachments');
      }
      counts.events++;
      progress.add('events');
    }
    for await (const v of lines<StoredEvent & { headId: string }>(dir, 'event-history.jsonl', has('event-history.jsonl'))) {
      const { headId, ...version } = v;
      if (skipped.has(headId)) continue;
      await put([eventHistoryItem(username, headId, sealEvent({ ...version, id: headId }))]);
    }
    for await (const d of lines<{ id: string; deleted: number }>(dir, 'event-deletions.jsonl', has('event-deletions.jsonl'))) {
      await put(eventDeletionItems(username, d.id, d.deleted, deletionIntegrity(d.id, d.deleted)));
    }
    for await (const p of lines<{ id: string; data: Record<string, unknown> }>(dir, 'profile.jsonl', has('profile.jsonl'))) {
      await put([profileItem(username, p.id, p.data)]);
    }
    await put([], true);
    // HF series points (after their holders), chunk by chunk as exported.
    let seriesBytes = 0;
    counts.seriesPoints = 0;
    for await (const line of lines<SeriesRows & { eventId: string }>(dir, 'series.jsonl', has('series.jsonl'))) {
      const { eventId, ...rows } = line;
      if (!holders.has(eventId) || !isSeriesChunk(rows))
        throw new ArchiveError(`series.jsonl: a line for "${eventId}" is not a chunk of one of its series`);
      const written = await writeSeries(username, [{ eventId, rows }]);
      await Promise.all(written.counters.map(addCounters));
      seriesBytes += written.bytes;
      counts.seriesPoints += rows.deltaTimes.length;
      progress.add('seriesPoints', rows.deltaTimes.length);
    }
    await adjustDbDocuments(username, seriesBytes);
    for await (const slice of lines<FollowedSlice>(dir, 'followed-slices.jsonl', has('followed-slices.jsonl'))) {
      if ((await createFollowedSlice(username, slice)) !== 'ok') throw new Error(`followed slice ${slice.id} could not be restored`);
    }
    await adjustAttachedFiles(username, attachedBytes);
    return counts;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    // Stream items went in without transactions: trees cached before the import are stale,
    // even when it stopped half-way.
    if (streamsWritten) await bumpTreeVersion(username);
  }
}
