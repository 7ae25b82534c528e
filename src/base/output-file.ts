/**
 * The files a command writes (--write-accepted, --write-dropped, synth -o,
 * export --split): never one of its inputs, never another of its outputs,
 * and never half-written where a good file was.
 *
 * checkOutputs() compares what will be written with what is read before a
 * byte is written: the same file is the same device and inode, whatever
 * the names (hard links, symbolic links, ../); a file that does not exist
 * yet is the same as another output when both names resolve to one path.
 *
 * openOutput() writes a regular file through a temporary file beside it,
 * `.NAME.fwemu-PID-RAND.tmp`, renamed over NAME by commit(): a run that
 * fails, or is interrupted (SIGINT, SIGTERM, SIGHUP), removes its temporary
 * files and leaves NAME as it was; only SIGKILL (or a power cut) can leave
 * a temporary file behind, never a half-written NAME. What is not a regular
 * file (/dev/null, a FIFO, a terminal) is written in place: it cannot be
 * renamed over, and holds nothing to lose.
 */
import { randomBytes } from 'node:crypto';
import {
  accessSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  lstatSync,
  openSync,
  readlinkSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ExitCode, UserError } from './errors.js';
import { stopsGracefully } from './interrupt.js';

/** What a file is to the command, for messages: "the capture", "--write-accepted". */
export interface NamedFile {
  /** "the capture", "the rule file", "--write-accepted", ... */
  role: string;
  /** As the user gave it; '-' is standard input (inputs) or standard output (outputs). */
  path: string;
}

/** How messages name a path: '-' is standard input or output. */
export function outputName(path: string): string {
  return path === '-' ? 'standard output' : path;
}

function inputLabel(f: NamedFile): string {
  return f.path === '-' ? `the file on standard input (${f.role})` : `${f.role} ${f.path}`;
}

function outputLabel(f: NamedFile): string {
  return f.path === '-' ? `${f.role} to standard output` : `${f.role} ${f.path}`;
}

/** A short reason for a failed open, write or rename. */
export function describeIoError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such directory';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only file system';
    case 'EISDIR':
      return 'it is a directory';
    case 'ENOSPC':
      return 'no space left on device';
    case 'EDQUOT':
      return 'disk quota exceeded';
    case 'EFBIG':
      return 'file too large';
    case 'EIO':
      return 'input/output error';
    case 'ENAMETOOLONG':
      return 'file name too long';
    case 'ELOOP':
      return 'too many levels of symbolic links';
    case 'EPIPE':
      return 'the reading end of the pipe was closed';
    default:
      return err instanceof Error ? err.message : String(err);
  }
}

/**
 * The exit code for a failed write: the device failed or is full (the
 * documented I/O code), or anything else (a path the user named wrongly).
 */
export function ioExitCode(err: unknown): number {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG' || code === 'EIO'
    ? ExitCode.IO_ERROR
    : ExitCode.BAD_INPUT;
}

/**
 * Where writing `path` ends up: symbolic links followed (the link itself
 * stays, its target is replaced), directories made absolute and real. A
 * path whose directory does not exist is only made absolute (opening it
 * will say so).
 */
export function resolveOutputPath(path: string): string {
  let p = resolve(path);
  for (let hops = 0; hops < 40; hops++) {
    let st: Stats | undefined;
    try {
      st = lstatSync(p, { throwIfNoEntry: false });
    } catch {
      break;
    }
    if (!st?.isSymbolicLink()) break;
    p = resolve(dirname(p), readlinkSync(p));
  }
  try {
    return join(realpathSync(dirname(p)), basename(p));
  } catch {
    return p;
  }
}

/** A file's identity when it is a regular file; null for devices, FIFOs, directories, and what cannot be looked at. */
function regularFileId(st: Stats | undefined): string | null {
  return st?.isFile() ? `${st.dev}:${st.ino}` : null;
}

function statOrNull(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined; // EACCES, ENOTDIR, ELOOP: reading or writing it will say why
  }
}

function fstatOrNull(fd: number): Stats | undefined {
  try {
    return fstatSync(fd);
  } catch {
    return undefined;
  }
}

/**
 * Refuses (exit 2, naming both) an output that is the same file as an input
 * or as another output. Standard input and output take part when they are
 * regular files (`< cap.pcap`, `> out.txt`): an output that is the file
 * standard input reads, or that standard output writes, is refused too.
 * Call it before anything is written.
 */
export function checkOutputs(inputs: readonly NamedFile[], outputs: readonly NamedFile[]): void {
  const inIds = inputs.map((f) => regularFileId(f.path === '-' ? fstatOrNull(0) : statOrNull(f.path)));
  const outKeys: (string | null)[] = [];
  for (const out of outputs) {
    let key: string | null;
    if (out.path === '-') key = regularFileId(fstatOrNull(1));
    else {
      const st = statOrNull(out.path);
      // Not there yet: two outputs are the same when their names resolve to one path.
      key = st ? regularFileId(st) : `path:${resolveOutputPath(out.path)}`;
    }
    outKeys.push(key);
    if (key === null) continue;
    const i = inIds.indexOf(key);
    if (i >= 0) {
      const input = inputs[i];
      const same =
        out.path === input.path
          ? inputLabel(input)
          : out.path === '-' || input.path === '-'
            ? `the same file as ${inputLabel(input)}`
            : `the same file as ${inputLabel(input)} (a link to it, or another path to it)`;
      throw new UserError(
        `refusing to write ${outputLabel(out)}: it is ${same}; fwemu never overwrites its inputs (name another file)`,
      );
    }
    const j = outKeys.indexOf(key);
    if (j < outKeys.length - 1) {
      const other = outputs[j];
      throw new UserError(
        `refusing to write ${outputLabel(other)} and ${outputLabel(out)}: they are ${out.path === other.path ? 'the same file' : 'one file under two names'}; each output needs a file of its own`,
      );
    }
  }
}

// ---------------------------------------------------------------------------
// Temporary files: removed when the process ends without committing them.

const live = new Set<string>();
let hooked = false;

function removeLive(): void {
  for (const tmp of live) {
    try {
      unlinkSync(tmp);
    } catch {
      // gone already, or the directory turned unwritable: nothing more to do
    }
  }
  live.clear();
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * On a signal that ends the process: remove the temporary files, then die
 * of the same signal (our listener removed, the default action is back), so
 * that the shell sees what it would have seen.
 */
function onSignal(sig: NodeJS.Signals): void {
  // main() lets the run finish, and then commits (or removes) the files itself.
  if (stopsGracefully() && (sig === 'SIGINT' || sig === 'SIGTERM')) return;
  removeLive();
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  process.kill(process.pid, sig);
}

function track(tmp: string): void {
  live.add(tmp);
  if (hooked) return;
  hooked = true;
  process.on('exit', removeLive);
  for (const s of SIGNALS) process.on(s, onSignal);
}

/**
 * An output file open for writing (`fd`). Regular files are written to a
 * temporary file in the same directory, which commit() renames into place
 * and abort() removes.
 */
export class OutputFile {
  readonly fd: number;
  /** The temporary file, until commit() or abort(); null when written in place. */
  private tmp: string | null = null;
  /** Where the file ends up (links followed). */
  private readonly target: string;
  private done = false;

  constructor(readonly path: string) {
    this.target = resolveOutputPath(path);
    let st: Stats | undefined;
    try {
      st = statSync(this.target, { throwIfNoEntry: false });
    } catch (err) {
      throw this.openError(err);
    }
    if (st?.isDirectory()) throw new UserError(`cannot write ${path}: it is a directory`);
    if (st && !st.isFile()) {
      // A device, FIFO or socket: written as it is.
      try {
        this.fd = openSync(this.target, 'w');
      } catch (err) {
        throw this.openError(err);
      }
      return;
    }
    if (st) {
      // Renaming would replace a file we may not write, as mv does; a
      // redirection (and fwemu before) would refuse it: so does fwemu.
      try {
        accessSync(this.target, constants.W_OK);
      } catch (err) {
        throw this.openError(err);
      }
    }
    // Short enough for any file system's 255-byte names, whatever NAME is.
    const tmp = join(
      dirname(this.target),
      `.${basename(this.target).slice(0, 160)}.fwemu-${process.pid}-${randomBytes(4).toString('hex')}.tmp`,
    );
    try {
      // 0o666 less the umask, as any new file; O_EXCL: never someone else's file.
      this.fd = openSync(tmp, 'wx', 0o666);
    } catch (err) {
      throw this.openError(err, true);
    }
    track(tmp);
    this.tmp = tmp;
    if (st) {
      // Replacing a file: it keeps its permissions (and, for root, its owner).
      try {
        fchmodSync(this.fd, st.mode & 0o7777);
        if (process.getuid?.() === 0) fchownSync(this.fd, st.uid, st.gid);
      } catch {
        // a file system without permissions (FAT): the new file's own are fine
      }
    }
  }

  private openError(err: unknown, viaTemp = false): UserError {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      viaTemp && (code === 'EACCES' || code === 'EPERM')
        ? `permission denied in ${dirname(this.target)} (fwemu writes a temporary file there and renames it over ${basename(this.target)}, so the directory must be writable)`
        : describeIoError(err);
    return new UserError(`cannot write ${this.path}: ${why}`, ioExitCode(err));
  }

  /** Writes all of data[start, end). */
  write(data: Uint8Array, start = 0, end = data.length): void {
    try {
      for (let at = start; at < end; ) at += writeSync(this.fd, data, at, end - at);
    } catch (err) {
      throw this.writeError(err);
    }
  }

  writeError(err: unknown): UserError {
    return new UserError(`cannot write ${this.path}: ${describeIoError(err)}`, ioExitCode(err));
  }

  /** Written in place (not a regular file): abort() cannot undo what was written. */
  get inPlace(): boolean {
    return this.tmp === null && !this.done;
  }

  /** Closes the file and puts it in place of the target. */
  commit(): void {
    if (this.done) return;
    this.done = true;
    try {
      closeSync(this.fd);
    } catch (err) {
      // (close can report a delayed write error, e.g. on NFS)
      this.removeTemp();
      throw this.writeError(err);
    }
    if (this.tmp === null) return;
    try {
      renameSync(this.tmp, this.target);
    } catch (err) {
      this.removeTemp();
      throw new UserError(
        `cannot replace ${this.path}: ${describeIoError(err)} (it is left as it was)`,
        ioExitCode(err),
      );
    }
    live.delete(this.tmp);
    this.tmp = null;
  }

  /** Closes and removes the temporary file: the target stays as it was. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    try {
      closeSync(this.fd);
    } catch {
      // closing is all that was left to do
    }
    this.removeTemp();
  }

  private removeTemp(): void {
    if (this.tmp === null) return;
    try {
      unlinkSync(this.tmp);
      live.delete(this.tmp);
    } catch {
      // (left in `live`: the exit hook tries once more)
    }
    this.tmp = null;
  }
}

/** Opens `path` for writing (see OutputFile). */
export function openOutput(path: string): OutputFile {
  return new OutputFile(path);
}

/**
 * Writes whole files at once: every one to its temporary file first, then
 * each renamed into place, so that a failure leaves every target as it was.
 */
export function writeOutputFiles(files: readonly { path: string; data: string | Uint8Array }[]): void {
  const opened: OutputFile[] = [];
  try {
    for (const f of files) {
      const out = openOutput(f.path);
      opened.push(out);
      out.write(typeof f.data === 'string' ? Buffer.from(f.data) : f.data);
    }
    for (const out of opened) out.commit();
  } catch (err) {
    for (const out of opened) out.abort();
    throw err;
  }
}
