/**
 * Assistant actions: the commands the model may ask the Nexy client to run (open an app, set the
 * volume, …). The allowlist and each command's JSON Schema come from `text_processing.actions`;
 * the schemas are compiled once at start-up. The gate is pure: it decides, the caller logs.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import type { ToolSpec } from '../llm/provider.js';

/** One command of `text_processing.actions.commands`. */
export interface ActionCommandSection {
  readonly description: string;
  /** JSON Schema of the arguments: an object schema. */
  readonly parameters: Readonly<Record<string, unknown>>;
}

/** The `text_processing.actions` section. A command set to null is removed (an override can drop a default). */
export interface ActionsSection {
  readonly enabled: boolean;
  readonly commands: Readonly<Record<string, ActionCommandSection | null>>;
}

/** A tool call as the model made it. */
export interface ToolCall {
  readonly name: string;
  readonly args: Readonly<Record<string, unknown>>;
}

export type ActionVerdict =
  | {
      readonly ok: true;
      readonly command: string;
      readonly args: Readonly<Record<string, unknown>>;
      /** What goes into ActionMessage.action_json: `{"command", "args", "session_id"}`. */
      readonly actionJson: string;
    }
  | { readonly ok: false; readonly reason: string };

// OpenAI's limit on function names, and the characters every provider accepts in them.
const COMMAND_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** The wire form of an accepted action, shared by the gate and whoever sends it. */
export function encodeAction(command: string, args: Readonly<Record<string, unknown>>, sessionId: string): string {
  return JSON.stringify({ command, args, session_id: sessionId });
}

/**
 * Checks tool calls against the allowlist and each command's schema. Disabled: no tools are
 * offered and every call is refused, so a model that calls one anyway (from an earlier turn's
 * habit, or a provider that ignores `tools`) never reaches the client.
 */
export class ActionGate {
  /** Commands offered to the model; empty when actions are disabled. */
  readonly tools: readonly ToolSpec[];
  readonly #enabled: boolean;
  readonly #validators: ReadonlyMap<string, ValidateFunction>;
  readonly #ajv: Ajv;

  private constructor(enabled: boolean, tools: readonly ToolSpec[], validators: ReadonlyMap<string, ValidateFunction>, ajv: Ajv) {
    this.#enabled = enabled;
    this.tools = enabled ? tools : [];
    this.#validators = validators;
    this.#ajv = ajv;
  }

  /**
   * Compiles every command's schema. Returns the gate, or every problem found (bad command
   * names, schemas that are invalid or not object schemas), each naming its key. Schemas are
   * checked even when actions are disabled, so that enabling them later cannot fail at start-up.
   */
  static fromConfig(section: ActionsSection): { readonly ok: true; readonly gate: ActionGate } | { readonly ok: false; readonly problems: readonly string[] } {
    // strict: an unknown keyword or format in a schema is a config error, not silently ignored.
    const ajv = new Ajv({ strict: true, allErrors: true });
    const problems: string[] = [];
    const tools: ToolSpec[] = [];
    const validators = new Map<string, ValidateFunction>();
    for (const [name, command] of Object.entries(section.commands)) {
      if (command === null) continue;
      const key = `text_processing.actions.commands.${name}`;
      if (!COMMAND_NAME.test(name)) {
        problems.push(`${key}: a command name is 1-64 letters, digits, _ or -`);
        continue;
      }
      if (command.parameters.type !== 'object') {
        problems.push(`${key}.parameters: must be a JSON Schema with type "object"`);
        continue;
      }
      try {
        validators.set(name, ajv.compile(command.parameters));
        tools.push({ name, description: command.description, parameters: command.parameters });
      } catch (error) {
        problems.push(`${key}.parameters: ${(error as Error).message}`);
      }
    }
    if (problems.length > 0) return { ok: false, problems };
    return { ok: true, gate: new ActionGate(section.enabled, tools, validators, ajv) };
  }

  /** Accepts a call of an allowed command whose arguments fit its schema; anything else is refused with a reason. */
  check(call: ToolCall, sessionId: string): ActionVerdict {
    if (!this.#enabled) return { ok: false, reason: 'actions are disabled' };
    const validate = this.#validators.get(call.name);
    if (!validate) return { ok: false, reason: `unknown command "${call.name}"` };
    if (!validate(call.args)) {
      return { ok: false, reason: `arguments do not fit the schema: ${this.#ajv.errorsText(validate.errors, { dataVar: 'args' })}` };
    }
    return { ok: true, command: call.name, args: call.args, actionJson: encodeAction(call.name, call.args, sessionId) };
  }
}
