// Type declarations for the npm package `causalgen` (causalgen.mjs and what it re-exports).

/** Status codes of causalgen.h (CG_*). */
export declare const Status: Readonly<{
  OK: 0; TRUNCATED: 1; BAD_MAGIC: 2; BAD_VERSION: 3; CRC_MISMATCH: 4; BAD_CONFIG: 5;
  BAD_VOCAB: 6; BAD_TENSOR: 7; OUT_OF_BOUNDS: 8; MISALIGNED: 9; ARENA_TOO_SMALL: 10;
  UNKNOWN_CHAR: 11; BAD_ARGUMENT: 12; WINDOW_EXCEEDED: 13;
}>;

/** An error from the core (code/status set) or from this package (code -1). */
export declare class CausalGenError extends Error {
  constructor(message: string, code?: number, status?: string);
  readonly name: 'CausalGenError';
  /** A Status value, or -1 when the error is not the core's. */
  code: number;
  /** The core's status name: "crc mismatch", "unknown character", ... or "error". */
  status: string;
}

/**
 * A model file: bytes, a Blob/File, a URL, or (in Node) a file path. (Blob, URL,
 * AbortSignal and WebAssembly come from the DOM library or @types/node.)
 */
export type ModelSource = ArrayBuffer | ArrayBufferView | Blob | URL | string;

export interface LoadProgress { loaded: number; total: number }

export interface LoadOptions {
  onProgress?: (progress: LoadProgress) => void;
  /** Aborts a download. */
  signal?: AbortSignal;
  /** causalgen_core.wasm as a URL, bytes or compiled module (default: next to causalgen.mjs). */
  wasm?: string | URL | ArrayBuffer | ArrayBufferView | WebAssembly.Module;
}

export interface WorkerLoadOptions {
  onProgress?: (progress: LoadProgress) => void;
  /** Aborting ends the worker and rejects the load. */
  signal?: AbortSignal;
  /** A Worker already running `causalgen/worker` (for bundlers). */
  worker?: WorkerLike;
}

/** What CausalGenWorker needs of a Worker (structural, so that no DOM types are required). */
export interface WorkerLike {
  postMessage(message: unknown): void;
  terminate(): void;
  onmessage: ((event: { data: any }) => any) | null;
  onerror: ((event: any) => any) | null;
}

export interface ModelInfo {
  readonly vocabSize: number;
  /** The vocabulary, one character (code point) per token id. */
  readonly vocab: readonly string[];
  readonly blockSize: number;
  readonly nLayer: number;
  readonly nEmbd: number;
  readonly nHead: number;
  readonly bias: boolean;
  readonly posEmb: boolean;
  /** The token mixer of each layer, e.g. "max-avg", "attention". */
  readonly mixers: readonly string[];
  /** True when the context is limited to blockSize (attention or learned positions). */
  readonly windowLimited: boolean;
  readonly parameters: number;
  readonly fileBytes: number;
  readonly stateBytes: number;
}

export interface GenerationStats {
  /** Generated characters per second of wall time since the prompt was fed. */
  charsPerSec: number;
  /** Generated characters per second spent in the core. */
  computeCharsPerSec: number;
  generated: number;
  elapsedMs: number;
  /** Characters in the state, prompt included. */
  position: number;
  stateBytes: number;
  /** The whole WebAssembly memory. */
  heapBytes: number;
  running: boolean;
}

export interface GenerateOptions {
  /** Characters to generate (default 500). */
  tokens?: number;
  /** 0 = greedy (default 0.8). */
  temperature?: number;
  /** 0 = off (default). */
  topK?: number;
  /** 1 = off (default). */
  topP?: number;
  /** 0..2^64-1 (default 1337). */
  seed?: number | bigint | string;
  /** Aborting stops the generation: `done` resolves with stopped: true. */
  signal?: AbortSignal;
  onChar?: (char: string, stats: GenerationStats) => void;
  onChunk?: (text: string, stats: GenerationStats) => void;
  /** Milliseconds of work between yields to the event loop (default 8). */
  chunkMs?: number;
  /** false: `text` is not accumulated (endless streams). Default true. */
  keepText?: boolean;
}

export interface GenerationResult {
  /** The generated text, without the prompt ('' when keepText is false). */
  text: string;
  stopped: boolean;
  stats: GenerationStats;
}

/** One generation: iterate it for characters; leaving the loop early stops it. */
export declare class Generation implements AsyncIterable<string> {
  private constructor();
  /** The text so far (unless keepText is false). */
  text: string;
  readonly done: Promise<GenerationResult>;
  readonly stopped: boolean;
  stop(): void;
  /** The text one chunk (one or more characters) at a time. */
  chunks(): AsyncGenerator<string, void, undefined>;
  /** The text one character (code point) at a time. */
  [Symbol.asyncIterator](): AsyncGenerator<string, void, undefined>;
}

/** The API CausalGen and CausalGenWorker share. */
export interface CausalGenModel {
  info(): ModelInfo;
  stateBytes(): number;
  readonly stats: GenerationStats;
  readonly running: boolean;
  generate(prompt?: string, options?: GenerateOptions): Generation;
  stop(): void;
  dispose(): void;
}

/** A model in this thread's WebAssembly instance (browsers, workers, Node >= 18). */
export declare class CausalGen implements CausalGenModel {
  private constructor();
  /** Rejects with CausalGenError carrying the core's message for a bad file. */
  static load(source: ModelSource, options?: LoadOptions): Promise<CausalGen>;
  info(): ModelInfo;
  stateBytes(): number;
  readonly stats: GenerationStats;
  readonly running: boolean;
  /** Throws CausalGenError at once for a bad parameter. */
  generate(prompt?: string, options?: GenerateOptions): Generation;
  stop(): void;
  dispose(): void;
}

/** A model in its own Web Worker, with the same API (browsers only). */
export declare class CausalGenWorker implements CausalGenModel {
  private constructor();
  static load(source: ModelSource, options?: WorkerLoadOptions): Promise<CausalGenWorker>;
  info(): ModelInfo;
  stateBytes(): number;
  readonly stats: GenerationStats;
  readonly running: boolean;
  /** A bad parameter rejects `done` (and the iterator) rather than throwing. */
  generate(prompt?: string, options?: GenerateOptions): Generation;
  stop(): void;
  /** Ends the worker. */
  dispose(): void;
}

export default CausalGen;
