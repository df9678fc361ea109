import type { Logger } from 'pino';
import type { ActionGate } from '../text-processing/actions.js';
import type { LlmEvent, LlmProvider, LlmRequest } from '../llm/provider.js';

/** A provider's usage report, as the turn records it. */
export type UsageEvent = Extract<LlmEvent, { type: 'usage' }>;

export interface TurnLlmOptions {
  readonly gate: ActionGate;
  readonly sessionId: string;
  readonly log: Logger;
  /** Every usage event, as it passes (the turn records them with the model that reported them). */
  readonly onUsage: (usage: UsageEvent) => void;
}

/**
 * The model as one turn sees it: the provider's stream with every tool call checked by the
 * action gate. Calls the gate refuses (unknown or disabled command, arguments that do not fit the
 * schema) are dropped here and logged, so nothing downstream can send an unchecked action;
 * accepted ones pass through in stream order with their checked arguments.
 */
export function turnLlm(llm: LlmProvider, options: TurnLlmOptions): LlmProvider {
  const { gate, sessionId, log, onUsage } = options;
  return {
    name: llm.name,
    async *stream(request: LlmRequest, signal: AbortSignal): AsyncGenerator<LlmEvent> {
      for await (const event of llm.stream(request, signal)) {
        if (event.type === 'usage') onUsage(event);
        if (event.type !== 'tool_call') {
          yield event;
          continue;
        }
        const verdict = gate.check(event, sessionId);
        if (!verdict.ok) {
          log.warn({ command: event.name, reason: verdict.reason }, 'tool call dropped');
          log.debug({ pii: { args: event.args } }, 'dropped tool call arguments');
          continue;
        }
        log.info({ command: verdict.command }, 'action accepted');
        yield { type: 'tool_call', name: verdict.command, args: verdict.args };
      }
    },
  };
}
