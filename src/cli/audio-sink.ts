import { writeFile } from 'node:fs/promises';
import type { AudioEvent } from '../client/events.js';
import { toInt16Le, WavBuilder } from '../client/wav.js';
import type { OutputStream } from './command.js';
import { openPlayer, playerNames, type Player } from './player.js';

/** Where the audio of an answer goes: a WAV file (`--out`), a player (`--play`), or nowhere. */
export interface AudioSinkOptions {
  readonly out?: string;
  readonly play: boolean;
  /** For the one-line notices (no player found, file written). */
  readonly stderr: OutputStream;
}

/** The audio of one answer on its way to --out and --play. */
export class AudioSink {
  readonly #options: AudioSinkOptions;
  readonly #wav = new WavBuilder();
  #player: Player | undefined;
  #playerTried = false;

  constructor(options: AudioSinkOptions) {
    this.#options = options;
  }

  /** Seconds of audio received so far. */
  get durationSec(): number {
    return this.#wav.durationSec;
  }

  /** Adds a chunk; throws WavError for audio no WAV file can hold (a server bug worth reporting). */
  async add(chunk: AudioEvent): Promise<void> {
    this.#wav.add(chunk);
    if (!this.#options.play) return;
    if (!this.#playerTried) {
      this.#playerTried = true;
      this.#player = await openPlayer({ sampleRate: chunk.sampleRate, channels: chunk.channels });
      if (!this.#player) {
        this.#options.stderr.write(
          `nexy: --play found no audio player (tried ${playerNames(process.platform).join(', ')}); save the answer with --out FILE\n`,
        );
      }
    }
    this.#player?.write(toInt16Le(chunk));
  }

  /** Writes --out (when audio came) and waits for the player to finish. */
  async finish(): Promise<void> {
    const { out, stderr } = this.#options;
    if (out) {
      if (this.#wav.format) {
        await writeFile(out, this.#wav.toBuffer());
        stderr.write(`nexy: wrote ${out} (${this.#wav.durationSec.toFixed(2)} s, ${this.#wav.format.sampleRate} Hz, ${this.#wav.format.channels} ch)\n`);
      } else {
        stderr.write(`nexy: no audio received; ${out} not written\n`);
      }
    }
    await this.#player?.finish();
  }

  /** Ctrl-C: silence at once, write nothing. */
  stop(): void {
    this.#player?.stop();
  }
}
