/**
 * The Nexy client SDK: a typed gRPC client, the COLLECT/COMMIT gate of the brief, and WAV output.
 * The `nexy` CLI (src/cli) is built on exactly this.
 */
export {
  NexyClient,
  NexyClientError,
  gateTransport,
  type CallSettings,
  type NexyClientOptions,
  type NexyStream,
  type RetryPolicy,
} from './nexy-client.js';
export { SESSION_ID_METADATA_KEY } from '../protocol/wire.js';
export type {
  ActionEvent,
  AudioEvent,
  EndEvent,
  ErrorEvent,
  NexyEvent,
  TextEvent,
  WelcomeEvent,
  WelcomeMetadataEvent,
} from './events.js';
export {
  CollectCommitGate,
  type GateOptions,
  type GateScreenshot,
  type GateState,
  type GateTimers,
  type GateTiming,
  type GateTransport,
} from './collect-commit-gate.js';
export { encodeWav, streamingWavHeader, toInt16Le, WavBuilder, WavError, wavHeader, type PcmChunk, type PcmFormat } from './wav.js';
export { RequestPhase, type StreamRequest, type UsageRequest, type WelcomeRequest } from '../gen/streaming.js';
