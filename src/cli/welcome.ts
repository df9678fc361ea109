import { randomUUID } from 'node:crypto';
import { AudioSink } from './audio-sink.js';
import { defineCommand, ExitCode } from './command.js';
import { connect, CONNECTION_USAGE, connectionOptions, describeFailure, loadCliConfig, withInterrupt } from './connection.js';

const USAGE = `usage: nexy welcome [options]

Asks the server for its spoken greeting (GenerateWelcomeAudio; also plain text-to-speech).

options:
  --text TEXT          what to say (default: the server's greeting)
  --voice VOICE        a voice of the server's engine, e.g. en-us
  --language LANG      a language code, e.g. en, ru
  --out FILE           write the audio as a WAV file
  --play               play the audio with a system player
${CONNECTION_USAGE}

exit codes: 0 done, 2 bad usage, 3 server error or no connection, 130 Ctrl-C
`;

/** `nexy welcome`: GenerateWelcomeAudio to a WAV file or a player. */
export const welcome = defineCommand(
  {
    name: 'welcome',
    usage: USAGE,
    options: {
      ...connectionOptions,
      text: { type: 'string' },
      voice: { type: 'string' },
      language: { type: 'string' },
      out: { type: 'string', short: 'o' },
      play: { type: 'boolean' },
    },
  },
  async ({ values }, context) => {
    const { stderr } = context;
    const config = loadCliConfig(values);
    const client = connect(values, context, config);
    const audio = new AudioSink({ out: values.out, play: values.play === true, stderr });
    const controller = new AbortController();
    let interrupted = false;
    const onInterrupt = () => {
      interrupted = true;
      controller.abort();
      audio.stop();
    };
    try {
      return await withInterrupt(context, onInterrupt, async () => {
        const request = { text: values.text ?? '', voice: values.voice ?? '', language: values.language ?? '', sessionId: randomUUID() };
        try {
          for await (const event of client.welcome(request, { signal: controller.signal })) {
            if (event.type === 'metadata') {
              stderr.write(`nexy: ${event.durationSec.toFixed(2)} s of speech from ${event.method} (${event.sampleRate} Hz, ${event.channels} ch, ${event.dtype})\n`);
            } else if (event.type === 'audio') {
              await audio.add(event);
            }
          }
        } catch (error) {
          if (interrupted) {
            stderr.write('nexy: interrupted\n');
            return ExitCode.interrupted;
          }
          stderr.write(`${describeFailure(error, client.address)}\n`);
          return ExitCode.serverError;
        }
        try {
          await audio.finish();
        } catch (error) {
          stderr.write(`${describeFailure(error)}\n`);
          return ExitCode.localFailure;
        }
        // Ctrl-C while the player was still speaking.
        return interrupted ? ExitCode.interrupted : ExitCode.ok;
      });
    } finally {
      client.close();
    }
  },
);
