import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { streamingWavHeader, WavBuilder, type PcmFormat } from '../client/wav.js';

/**
 * `--play`: hands the answer's audio to a player the system already has. Players that read a
 * pipe get a WAV stream on stdin while the answer is still arriving; afplay (macOS) reads files
 * only, so it gets the whole answer at the end.
 */

export interface Player {
  /** The program that plays. */
  readonly name: string;
  /** 16-bit little-endian PCM in the format the player was opened with. */
  write(pcm: Buffer): void;
  /** No more audio: resolves when the player has finished playing. */
  finish(): Promise<void>;
  /** Stops playing at once (Ctrl-C). */
  stop(): void;
}

interface Candidate {
  readonly command: string;
  readonly args: readonly string[];
  /** `stdin`: a WAV stream on stdin; `file`: the path of a WAV file as the last argument. */
  readonly input: 'stdin' | 'file';
}

const PIPE_PLAYERS: readonly Candidate[] = [
  { command: 'paplay', args: [], input: 'stdin' },
  { command: 'aplay', args: ['-q', '-'], input: 'stdin' },
  { command: 'ffplay', args: ['-nodisp', '-autoexit', '-loglevel', 'error', '-i', 'pipe:0'], input: 'stdin' },
];
const AFPLAY: Candidate = { command: 'afplay', args: [], input: 'file' };

/** The players tried on this platform, in order. */
export function playerCandidates(platform: NodeJS.Platform): readonly Candidate[] {
  return platform === 'darwin' ? [AFPLAY, ...PIPE_PLAYERS] : PIPE_PLAYERS;
}

/** The names `--play` looks for, for the message when none is found. */
export function playerNames(platform: NodeJS.Platform): string[] {
  return playerCandidates(platform).map((c) => c.command);
}

/** Starts a program; undefined when it is not installed. */
async function start(command: string, args: readonly string[], stdin: 'pipe' | 'ignore'): Promise<ChildProcess | undefined> {
  const child = spawn(command, args, { stdio: [stdin, 'ignore', 'ignore'] });
  try {
    await once(child, 'spawn');
    return child;
  } catch {
    return undefined;
  }
}

async function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await once(child, 'close');
}

function pipePlayer(name: string, child: ChildProcess, format: PcmFormat): Player {
  const stdin = child.stdin!;
  // A player that quits early (its window closed, Ctrl-C) must not crash the command with EPIPE.
  stdin.on('error', () => undefined);
  stdin.write(streamingWavHeader(format));
  return {
    name,
    write: (pcm) => void stdin.write(pcm),
    finish: async () => {
      stdin.end();
      await exited(child);
    },
    stop: () => void child.kill(),
  };
}

function filePlayer(candidate: Candidate, format: PcmFormat): Player {
  const audio = new WavBuilder();
  let child: ChildProcess | undefined;
  let stopped = false;
  return {
    name: candidate.command,
    write: (pcm) => audio.add({ data: pcm, dtype: 'int16', ...format }),
    finish: async () => {
      if (stopped || audio.frames === 0) return;
      const dir = await mkdtemp(join(tmpdir(), 'nexy-play-'));
      try {
        const file = join(dir, 'reply.wav');
        await writeFile(file, audio.toBuffer());
        child = await start(candidate.command, [...candidate.args, file], 'ignore');
        if (child) await exited(child);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    stop: () => {
      stopped = true;
      child?.kill();
    },
  };
}

/** Opens the first player this system has; undefined when it has none. */
export async function openPlayer(format: PcmFormat, platform: NodeJS.Platform = process.platform): Promise<Player | undefined> {
  for (const candidate of playerCandidates(platform)) {
    // afplay ships with every macOS; it is only started at the end, when the file is complete.
    if (candidate.input === 'file') return filePlayer(candidate, format);
    const child = await start(candidate.command, candidate.args, 'pipe');
    if (child) return pipePlayer(candidate.command, child, format);
  }
  return undefined;
}
