import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { log } from '../../shared/log';

/**
 * Where the stream consumer's delivery stands, per shard, kept in a file (the runtime's data
 * folder) as an event source mapping keeps it in AWS: a restart, even after a kill, resumes
 * after the last delivered record of each shard instead of skipping what changed while
 * nobody was reading. Without a file, positions live in memory only.
 */

/** What the consumer knows of a shard from before (a checkpoint) or from its first start. */
export type ShardPosition =
  /** Closed before the first start: never read. */
  | { skip: true }
  /** Read from LATEST at the first start (epoch s), nothing delivered yet: on a restart, read from TRIM_HORIZON, dropping older records. */
  | { since: number }
  /** Delivered up to this sequence number. */
  | { after: string };

/**
 * The file holds, per stream, per shard, the last delivered sequence number, or `skip`, or
 * `since:{epoch s}`: the format of the files kept in data folders, unchanged.
 */
interface CheckpointFile {
  streamArn: string;
  shards: Record<string, string>;
}
const SKIP = 'skip';
const SINCE = 'since:';

export class Checkpoint {
  /** Whether positions were read back from the file: a restart, not a first start. */
  readonly restored: boolean;
  private readonly file: string | undefined;
  private readonly streamArn: string;
  private readonly positions: Record<string, string>;
  /** Positions moved by `passed` and not saved yet. */
  private unsaved = false;

  private constructor(file: string | undefined, streamArn: string, saved: CheckpointFile | undefined) {
    this.file = file;
    this.streamArn = streamArn;
    this.restored = saved !== undefined;
    this.positions = { ...saved?.shards };
  }

  /** The checkpoint of a stream kept in `file`; a file of another stream, or unreadable, is ignored. */
  static open(file: string | undefined, streamArn: string): Checkpoint {
    return new Checkpoint(file, streamArn, readCheckpointFile(file, streamArn));
  }

  position(shardId: string): ShardPosition | undefined {
    const position = this.positions[shardId];
    if (position === undefined) return undefined;
    if (position === SKIP) return { skip: true };
    if (position.startsWith(SINCE)) return { since: Number(position.slice(SINCE.length)) };
    return { after: position };
  }

  skip(shardId: string): void {
    this.positions[shardId] = SKIP;
  }

  readingSince(shardId: string, epochSeconds: number): void {
    this.positions[shardId] = `${SINCE}${epochSeconds}`;
  }

  /** Records up to this one were delivered (or given up on): never read again. Saved at once. */
  delivered(shardId: string, sequenceNumber: string): void {
    this.positions[shardId] = sequenceNumber;
    this.save();
  }

  /**
   * Read up to this record with nothing left to deliver (the mapping's filter refused the rest):
   * kept in memory, written with the next save, so an idle mapping writes no file per read.
   */
  passed(shardId: string, sequenceNumber: string): void {
    this.positions[shardId] = sequenceNumber;
    this.unsaved = true;
  }

  /** Saves what `passed` moved since the last save (at stop); a file that cannot be written is only logged: the mapping then reads those records again. */
  saveIfPassed(): void {
    if (!this.unsaved) return;
    try {
      this.save();
    } catch (err) {
      log.warn('stream consumer: checkpoint not saved', { err, file: this.file });
    }
  }

  /** Written whole to a temporary file then renamed: a kill never leaves half a file. */
  save(): void {
    if (!this.file) return;
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify({ streamArn: this.streamArn, shards: this.positions } satisfies CheckpointFile));
    renameSync(tmp, this.file);
    this.unsaved = false;
  }
}

function readCheckpointFile(file: string | undefined, streamArn: string): CheckpointFile | undefined {
  if (!file || !existsSync(file)) return undefined;
  try {
    const checkpoint = JSON.parse(readFileSync(file, 'utf8')) as CheckpointFile;
    return checkpoint.streamArn === streamArn && typeof checkpoint.shards === 'object' ? checkpoint : undefined;
  } catch {
    log.warn('stream consumer: unreadable checkpoint ignored', { file });
    return undefined;
  }
}
