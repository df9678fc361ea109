import type { ChatMessage } from '../llm/provider.js';
import type { ContextBudget } from './store.js';

/** The part of a stored turn that goes back to the model. */
export interface StoredTurn {
  readonly userText: string;
  /** Only what the user heard. */
  readonly assistantText: string;
  readonly interrupted: boolean;
}

/**
 * Picks earlier turns for the model and renders them as chat messages, oldest first.
 *
 * Turns are taken newest first while both budgets hold (user + assistant characters counted);
 * the first turn that would pass a budget ends the selection, so the history never has gaps.
 * Every turn becomes a user message and an assistant message, keeping roles alternating. An
 * assistant turn the user cut off (or that has nothing heard) ends with `interruptedMarker`,
 * so the model knows the rest was not heard and does not assume it was.
 */
export function turnsToMessages(newestFirst: readonly StoredTurn[], budget: ContextBudget, interruptedMarker: string): ChatMessage[] {
  const picked: StoredTurn[] = [];
  let chars = 0;
  for (const turn of newestFirst) {
    if (picked.length >= budget.maxTurns) break;
    chars += turn.userText.length + turn.assistantText.length;
    if (chars > budget.maxChars) break;
    picked.push(turn);
  }
  const messages: ChatMessage[] = [];
  for (const turn of picked.reverse()) {
    messages.push({ role: 'user', content: turn.userText });
    messages.push({ role: 'assistant', content: assistantContent(turn, interruptedMarker) });
  }
  return messages;
}

function assistantContent(turn: StoredTurn, marker: string): string {
  const heard = turn.assistantText.trimEnd();
  if (!turn.interrupted && heard !== '') return heard;
  return heard === '' ? marker : `${heard} ${marker}`;
}
