import { InterruptedError } from '../errors.js';

interface Registration {
  readonly hardwareId: string;
  readonly sessionId: string;
  readonly controller: AbortController;
}

/**
 * Where InterruptSession reaches running turns. Each turn registers its one AbortController;
 * an interrupt aborts it with an InterruptedError, which the transport turns into CANCELLED.
 * There is no "interrupt active" flag: a turn that starts after an interrupt runs normally.
 */
export interface InterruptHub {
  /** Returns the function that unregisters (call it in `finally`). */
  register(hardwareId: string, sessionId: string, controller: AbortController): () => void;
  /** Aborts every registered turn of the hardware id; returns their session ids. */
  interrupt(hardwareId: string): Promise<string[]>;
  /** Aborts everything with the given reason (shutdown). */
  abortAll(reason: Error): void;
}

export class MemoryInterruptHub implements InterruptHub {
  readonly #registrations = new Set<Registration>();

  register(hardwareId: string, sessionId: string, controller: AbortController): () => void {
    const registration: Registration = { hardwareId, sessionId, controller };
    this.#registrations.add(registration);
    return () => {
      this.#registrations.delete(registration);
    };
  }

  async interrupt(hardwareId: string): Promise<string[]> {
    const stopped: string[] = [];
    for (const registration of this.#registrations) {
      if (registration.hardwareId !== hardwareId || registration.controller.signal.aborted) continue;
      registration.controller.abort(new InterruptedError('interrupted by the user'));
      stopped.push(registration.sessionId);
    }
    return stopped;
  }

  abortAll(reason: Error): void {
    for (const registration of this.#registrations) registration.controller.abort(reason);
  }
}
