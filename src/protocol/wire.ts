// Constants of the StreamAudio wire that the server and the client SDK must spell alike
// (docs/PROTOCOL.md, "StreamAudio flow").

/** The metadata key of the effective session id in StreamAudio's initial metadata. */
export const SESSION_ID_METADATA_KEY = 'x-session-id';
/** The end message that acknowledges a COLLECT (no turn ran). */
export const COLLECT_OK = 'collect_ok';
/** The end message of a turn that finished. */
export const COMPLETED = 'completed';
/** The sample format of every audio chunk and metadata message. */
export const AUDIO_DTYPE = 'int16';
