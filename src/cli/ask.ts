import { randomUUID } from 'node:crypto';
import { CollectCommitGate } from '../client/collect-commit-gate.js';
import { gateTransport, type NexyClient } from '../client/nexy-client.js';
import type { Config } from '../config/schema.js';
import { hardwareIdProblem, sessionIdProblem } from '../protocol/validation.js';
import { AudioSink } from './audio-sink.js';
import { defineCommand, ExitCode, UsageError, type CliContext } from './command.js';
import { connect, CONNECTION_USAGE, connectionOptions, describeFailure, loadCliConfig, withInterrupt } from './connection.js';
import { machineHardwareId } from './machine-id.js';
import { Progress } from './progress.js';
import { loadScreenshot } from './screenshot.js';

const USAGE = `usage: nexy ask "prompt" [options]

Asks the server, prints the answer's text as it streams and saves or plays its audio.
Timings (time to first text, first audio, total) go to stderr.

options:
  --screenshot FILE    attach a screenshot (PNG, JPEG or WebP; sent as WebP)
  --out FILE           write the answer's audio as a WAV file
  --play               play the audio with a system player (paplay, aplay, ffplay, afplay)
  --interim TEXT       an interim speech result, sent as COLLECT before the prompt's COMMIT
                       (repeatable: --interim "what is" --interim "what is the weather" "in Paris")
  --hardware-id ID     default: a stable id of this machine (an uppercase UUID)
  --session ID         default: a fresh UUID per call
${CONNECTION_USAGE}

exit codes: 0 answered, 2 bad usage, 3 server error or no connection, 130 Ctrl-C
`;

const MS_PER_SECOND = 1000;

/** When things happened, in milliseconds from the start of the request. */
interface Timings {
  firstText?: number;
  firstAudio?: number;
  total?: number;
}

interface Turn {
  readonly prompt: string;
  readonly interims: readonly string[];
  readonly screenshot?: Awaited<ReturnType<typeof loadScreenshot>>;
  readonly hardwareId: string;
  readonly sessionId: string;
  readonly audio: AudioSink;
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? '—' : `${(ms / MS_PER_SECOND).toFixed(2)} s`;
}

async function converse(client: NexyClient, config: Config, context: CliContext, turn: Turn): Promise<number> {
  const { stdout, stderr } = context;
  const c = config.client;
  const gate = new CollectCommitGate({
    hardwareId: turn.hardwareId,
    sessionId: turn.sessionId,
    transport: gateTransport(client, { interruptDeadlineMs: c.interrupt_deadline_ms }),
    timing: { debounceMs: c.collect_debounce_ms, maxWaitMs: c.collect_max_wait_ms, collectDeadlineMs: c.collect_deadline_ms },
  });
  const progress = new Progress(stderr, { afterMs: c.progress_after_ms, intervalMs: c.progress_interval_ms });
  const timings: Timings = {};
  const startedAt = performance.now();
  const since = () => performance.now() - startedAt;
  let interrupted = false;
  let cancelled: Promise<void> = Promise.resolve();
  let textOpen = false;
  let ended = false;
  let sessionId: string | undefined;

  const onInterrupt = () => {
    interrupted = true;
    // The stream is cancelled first (its signal aborts), then InterruptSession; its failure
    // (server gone) must not turn Ctrl-C into an error.
    cancelled = gate.cancel().catch(() => undefined);
    turn.audio.stop();
  };

  return withInterrupt(context, onInterrupt, async () => {
    progress.start();
    try {
      // The order of the deployed client: screenshot at once, interims while speaking, then the
      // key is released and the final result arrives.
      if (turn.screenshot) gate.screenshot(turn.screenshot);
      for (const text of turn.interims) gate.interim(text);
      gate.release();
      gate.final(turn.prompt);
      const stream = await gate.dispatched;
      if (!stream) throw new Error('cancelled before the request was sent');
      void stream.sessionId.then((id) => (sessionId = id));
      for await (const event of stream) {
        switch (event.type) {
          case 'text':
            timings.firstText ??= since();
            progress.clear();
            stdout.write((textOpen ? ' ' : '') + event.text);
            textOpen = true;
            break;
          case 'audio':
            timings.firstAudio ??= since();
            await turn.audio.add(event);
            progress.setAudioSeconds(turn.audio.durationSec);
            break;
          case 'action':
            progress.clear();
            stderr.write(`nexy: action ${event.actionJson}\n`);
            break;
          case 'end':
            ended = true;
            break;
          case 'error':
            // The status that follows is thrown with this message.
            break;
        }
      }
      timings.total = since();
    } catch (error) {
      progress.stop();
      if (textOpen) stdout.write('\n');
      if (interrupted) {
        await cancelled;
        stderr.write('nexy: interrupted\n');
        return ExitCode.interrupted;
      }
      stderr.write(`${describeFailure(error, client.address)}\n`);
      return ExitCode.serverError;
    }
    progress.stop();
    if (textOpen) stdout.write('\n');
    try {
      await turn.audio.finish();
    } catch (error) {
      stderr.write(`${describeFailure(error)}\n`);
      return ExitCode.localFailure;
    }
    if (interrupted) {
      // Ctrl-C while the player was still speaking: the answer was complete, the user stopped it.
      await cancelled;
      return ExitCode.interrupted;
    }
    const audioSec = turn.audio.durationSec;
    stderr.write(
      `nexy: session ${sessionId ?? turn.sessionId} · first text ${seconds(timings.firstText)} · ` +
        `first audio ${seconds(timings.firstAudio)} · total ${seconds(timings.total)} · ${audioSec.toFixed(2)} s of audio\n`,
    );
    if (!ended) {
      // docs/COMPATIBILITY.md: a stream that closes with no terminal message is a dropped stream.
      stderr.write('nexy: the answer stopped before its end (the server logged why)\n');
      return ExitCode.serverError;
    }
    return ExitCode.ok;
  });
}

/** `nexy ask`: one question to the server through the COLLECT/COMMIT gate. */
export const ask = defineCommand(
  {
    name: 'ask',
    usage: USAGE,
    allowPositionals: true,
    options: {
      ...connectionOptions,
      screenshot: { type: 'string' },
      out: { type: 'string', short: 'o' },
      play: { type: 'boolean' },
      interim: { type: 'string', multiple: true },
      'hardware-id': { type: 'string' },
      session: { type: 'string' },
    },
  },
  async ({ values, positionals }, context) => {
    const prompt = positionals.join(' ').trim();
    const interims = values.interim ?? [];
    if (prompt === '' && interims.every((text) => text.trim() === '')) {
      throw new UsageError('a prompt is required, e.g. nexy ask "what time is it?"');
    }
    const hardwareId = values['hardware-id'] ?? machineHardwareId();
    const hardwareProblem = hardwareIdProblem(hardwareId);
    if (hardwareProblem) throw new UsageError(`--hardware-id: ${hardwareProblem}`);
    const sessionId = values.session ?? randomUUID();
    const sessionProblem = sessionIdProblem(sessionId);
    if (sessionProblem) throw new UsageError(`--session: ${sessionProblem}`);
    const config = loadCliConfig(values);
    const screenshot = values.screenshot === undefined ? undefined : await loadScreenshot(values.screenshot);
    const client = connect(values, context, config);
    try {
      const audio = new AudioSink({ out: values.out, play: values.play === true, stderr: context.stderr });
      return await converse(client, config, context, { prompt, interims, screenshot, hardwareId, sessionId, audio });
    } finally {
      client.close();
    }
  },
);
