import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { type Pack, pack as tarPack } from 'tar-stream';
import {
  type AccountItemKind,
  accountItemPages,
  countAccountItems,
  eventHistoryPages,
  isDataMetaItem,
  profileSetId,
} from '../../store/account-items';
import { getAccount } from '../../store/accounts';
import { uploadStream } from '../../store/file-upload';
import { readFileStream } from '../../store/files';
import { listFollowedSlices } from '../../store/followed-slices';
import { objectKeys } from '../../store/keys';
import { seriesChunks } from '../../store/series/chunks';
import { PUSH_MARK_ATTRIBUTE, WRITER_ATTRIBUTE } from '../../store/writer';
import { isHiddenAccountField } from '../system-streams/definitions';
import { JobProgressReporter } from './progress';

/**
 * A complete copy of an account as one gzip'd tar archive (README "Your data"):
 *
 *   account.json              account fields (no password hash)
 *   streams.jsonl             every stream, trashed ones included
 *   stream-deletions.jsonl    deletion records of streams
 *   events.jsonl              every event (trashed and running included), as stored
 *   event-history.jsonl       previous versions of updated events (`headId` = the event)
 *   event-deletions.jsonl     deletion records of events
 *   series.jsonl              HF series points, one line per stored chunk: {eventId, deltaTimes, columns}
 *   accesses.jsonl            accesses without their tokens (and deleted ones in access-deletions.jsonl)
 *   webhooks.jsonl            webhooks without their signing secrets or delivery queue
 *   profile.jsonl             profile sets ({id, data})
 *   followed-slices.jsonl     followed slices (spec §2.6), with their tokens
 *   attachments/{eventId}/{fileId}   the attached files, byte for byte
 *   manifest.json             last: format, account, and for every file its size and SHA-256
 *
 * Built for accounts of any size: DynamoDB is read page by page and each JSON Lines file is
 * streamed to a temporary file (a tar entry needs its size first), files stream from S3 into
 * the archive, and the archive streams through gzip into a multipart S3 upload. Memory
 * holds one page and one upload part at a time.
 */
export const ARCHIVE_FORMAT = 'pryv-serverless-export';
export const ARCHIVE_VERSION = 1;

export interface ManifestFile {
  path: string;
  size: number;
  sha256: string;
}
export interface Manifest {
  format: string;
  version: number;
  username: string;
  created: number;
  counts: Record<string, number>;
  files: ManifestFile[];
}

/** A JSON Lines file written to disk, hashed and counted on the way. */
class JsonlFile {
  readonly path: string;
  private readonly out: WriteStream;
  private readonly hash: Hash = createHash('sha256');
  count = 0;
  constructor(
    dir: string,
    readonly name: string,
  ) {
    this.path = join(dir, name.replace(/\//g, '_'));
    this.out = createWriteStream(this.path);
  }
  async write(value: unknown): Promise<void> {
    const line = `${JSON.stringify(value)}\n`;
    this.hash.update(line);
    this.count++;
    if (!this.out.write(line)) await new Promise<void>((r) => this.out.once('drain', () => r()));
  }
  async close(): Promise<ManifestFile> {
    await new Promise<void>((resolve, reject) => this.out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    return { path: this.name, size: statSync(this.path).size, sha256: this.hash.digest('hex') };
  }
}

const withoutKeys = (item: Record<string, unknown>, drop: string[]) => {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) if (!drop.includes(k)) out[k] = v;
  return out;
};
// The writer's request id and push mark are the store's own bookkeeping, like the keys: not part of the data.
const ITEM_KEYS = ['pk', 'sk', 'ttl', WRITER_ATTRIBUTE, PUSH_MARK_ATTRIBUTE];
const EVENT_INTERNAL = [...ITEM_KEYS, 'ix', 'endTime'];
const ACCESS_SECRETS = [...ITEM_KEYS, 'token', 'sessionExpires'];
const WEBHOOK_SECRETS = [...ITEM_KEYS, 'secret', 'pending', 'nextAttempt', 'queueSeq', 'pendingCauses'];
const ACCOUNT_FIELDS = ['username', 'email', 'language', 'appId', 'referer', 'created', 'modified', 'dbDocuments', 'attachedFiles'];

function addEntry(pack: Pack, name: string, size: number, source: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    const entry = pack.entry({ name, size, mtime: new Date(0) }, (err) => (err ? reject(err) : resolve()));
    source.once('error', reject);
    source.pipe(entry);
  });
}

function hashing(hash: Hash): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
}

/**
 * Builds the archive of `username` into S3 at `archiveKey`; answers its manifest, size and
 * SHA-256. `progress` is told the counts as they go: streams and events (deletion records
 * included) against totals counted first, attachments against the number the events hold,
 * series points (their total is known only once read).
 */
export async function buildExport(
  username: string,
  archiveKey: string,
  now: number,
  progress: JobProgressReporter = new JobProgressReporter(async () => undefined),
): Promise<{ manifest: Manifest; size: number; sha256: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'pryv-export-'));
  try {
    const jsonl: JsonlFile[] = [];
    const file = (name: string) => {
      const f = new JsonlFile(dir, name);
      jsonl.push(f);
      return f;
    };
    const account = await getAccount(username);
    if (!account) throw new Error('account gone');
    const accountFile = file('account.json');
    await accountFile.write(
      Object.fromEntries(
        ACCOUNT_FIELDS.filter((k) => (account as unknown as Record<string, unknown>)[k] !== undefined).map((k) => [
          k,
          (account as unknown as Record<string, unknown>)[k],
        ]),
      ),
    );

    /** Items of one kind, each with `drop` removed, into one JSON Lines file. */
    const copy = async (name: string, kind: AccountItemKind, drop: string[]) => {
      const out = file(name);
      for await (const page of accountItemPages(username, kind)) for (const item of page) await out.write(withoutKeys(item, drop));
    };
    // Totals first (count-only queries), shown at once.
    progress.total('streams', await countAccountItems(username, 'streams'));
    progress.total('events', await countAccountItems(username, 'eventHeads'));
    await progress.flush();
    const streams = file('streams.jsonl');
    for await (const page of accountItemPages(username, 'streams')) {
      for (const item of page) {
        if (isDataMetaItem(item)) continue;
        await streams.write(withoutKeys(item, ITEM_KEYS));
        progress.add('streams');
      }
    }
    await copy('stream-deletions.jsonl', 'streamDeletions', ITEM_KEYS);

    const events = file('events.jsonl');
    const history = file('event-history.jsonl');
    const eventDeletions = file('event-deletions.jsonl');
    const attachments: Array<{ eventId: string; fileId: string }> = [];
    const holders: string[] = [];
    for await (const page of accountItemPages(username, 'eventHeads')) {
      for (const item of page) {
        progress.add('events');
        if (item.deleted !== undefined) {
          await eventDeletions.write({ id: item.id, deleted: item.deleted });
          continue;
        }
        const event = withoutKeys(item, EVENT_INTERNAL);
        // Hidden account fields (appId, referer…, Pryv API reference §7) are never shown, not even in a copy.
        if ((event.streamIds as string[] | undefined)?.some(isHiddenAccountField)) continue;
        await events.write(event);
        for (const a of (event.attachments as Array<{ id: string }> | undefined) ?? [])
          attachments.push({ eventId: event.id as string, fileId: a.id });
        if (String(event.type).startsWith('series:')) holders.push(event.id as string);
        // Only an event modified after its creation can have previous versions.
        if ((event.modified as number) > (event.created as number)) {
          for await (const versions of eventHistoryPages(username, event.id as string)) {
            for (const v of versions) await history.write({ ...withoutKeys(v, EVENT_INTERNAL), headId: event.id });
          }
        }
      }
    }
    progress.total('attachments', attachments.length);
    const series = file('series.jsonl');
    let seriesPoints = 0;
    for (const eventId of holders) {
      for await (const rows of seriesChunks(username, eventId)) {
        await series.write({ eventId, ...rows });
        seriesPoints += rows.deltaTimes.length;
        progress.add('seriesPoints', rows.deltaTimes.length);
      }
    }
    progress.total('seriesPoints', seriesPoints);
    await copy('accesses.jsonl', 'accesses', ACCESS_SECRETS);
    await copy('access-deletions.jsonl', 'accessDeletions', ACCESS_SECRETS);
    await copy('webhooks.jsonl', 'webhooks', WEBHOOK_SECRETS);
    const profile = file('profile.jsonl');
    for await (const page of accountItemPages(username, 'profiles')) {
      for (const item of page) {
        const { pk: _pk, sk: _sk, ...data } = item;
        await profile.write({ id: profileSetId(item), data });
      }
    }

    // Followed slices (spec §2.6): the links to others' data this user keeps, with their tokens.
    const slices = file('followed-slices.jsonl');
    for (const slice of await listFollowedSlices(username)) await slices.write(slice);

    const manifestFiles: ManifestFile[] = [];
    for (const f of jsonl) manifestFiles.push(await f.close());

    // The archive: tar → gzip → S3, hashed on the way out.
    const pack = tarPack();
    const archiveHash = createHash('sha256');
    let archiveSize = 0;
    const body = new PassThrough();
    const upload = uploadStream(archiveKey, body, 'application/gzip');
    const uploaded = upload.done;
    const piped = pipeline(
      pack,
      createGzip(),
      new Transform({
        transform(chunk: Buffer, _enc, done) {
          archiveHash.update(chunk);
          archiveSize += chunk.length;
          done(null, chunk);
        },
      }),
      body,
    );
    const written = (async () => {
      for (const [i, f] of jsonl.entries()) await addEntry(pack, manifestFiles[i]!.path, manifestFiles[i]!.size, createReadStream(f.path));
      for (const { eventId, fileId } of attachments) {
        const object = await readFileStream(objectKeys.file(username, eventId, fileId));
        const hash = createHash('sha256');
        const size = object.size;
        const path = `attachments/${eventId}/${fileId}`;
        await addEntry(pack, path, size, object.body.pipe(hashing(hash)));
        manifestFiles.push({ path, size, sha256: hash.digest('hex') });
        progress.add('attachments');
      }
      const counts = Object.fromEntries(jsonl.map((f) => [f.name, f.count]));
      counts.attachments = attachments.length;
      const manifest: Manifest = { format: ARCHIVE_FORMAT, version: ARCHIVE_VERSION, username, created: now, counts, files: manifestFiles };
      pack.entry({ name: 'manifest.json', mtime: new Date(0) }, Buffer.from(JSON.stringify(manifest, null, 1)));
      pack.finalize();
      return manifest;
    })();
    written.catch((err) => {
      pack.destroy(err); // fails the pipeline and so the upload, which then removes its parts
      void upload.abort().catch(() => undefined);
    });
    const [manifest] = await Promise.all([written, piped, uploaded]);
    return { manifest, size: archiveSize, sha256: archiveHash.digest('hex') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
