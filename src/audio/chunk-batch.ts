/**
 * How a synthesis worker hands a job's chunks to the event loop: the first ones as soon as they
 * exist (a sentence's first audio waits for nothing), then in batches of at least `batchBytes`,
 * and what is left when the job ends. Each message between threads wakes the event loop and runs
 * the stream's whole path once; a batch of chunks runs it once and goes out in the same HTTP/2
 * flush. The engine renders a batch of a third of a second in about a millisecond, so a batch
 * costs the stream nothing it would hear: it is far ahead of playback by then.
 */
export class ChunkBatch<C extends { readonly data: Uint8Array }> {
  readonly #batchBytes: number;
  readonly #send: (chunks: C[]) => void;
  #chunks: C[] = [];
  #bytes = 0;
  #sent = false;

  /** `batchBytes` 0: every call's chunks go out at once. */
  constructor(batchBytes: number, send: (chunks: C[]) => void) {
    this.#batchBytes = batchBytes;
    this.#send = send;
  }

  /** Chunks in output order; sent now if they are the job's first or complete a batch. */
  add(chunks: readonly C[]): void {
    for (const chunk of chunks) {
      this.#chunks.push(chunk);
      this.#bytes += chunk.data.length;
    }
    if (this.#chunks.length > 0 && (!this.#sent || this.#bytes >= this.#batchBytes)) this.#flush();
  }

  /** The job's last chunks: everything still held goes out. */
  end(chunks: readonly C[]): void {
    this.#chunks.push(...chunks);
    if (this.#chunks.length > 0) this.#flush();
  }

  #flush(): void {
    const chunks = this.#chunks;
    this.#chunks = [];
    this.#bytes = 0;
    this.#sent = true;
    this.#send(chunks);
  }
}
