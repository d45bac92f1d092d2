// Type-checked (tsc --noEmit, strict) in a fresh project against the installed
// package's declarations. The lines marked @ts-expect-error must be errors:
// were the declarations missing or `any`, tsc would fail on the unused marks.
import CausalGenDefault, {
  CausalGen, CausalGenError, CausalGenWorker, Generation, Status,
  type CausalGenModel, type GenerateOptions, type GenerationResult, type ModelInfo,
} from 'causalgen';

export async function demo(bytes: ArrayBuffer, signal: AbortSignal): Promise<string> {
  const gen: CausalGen = await CausalGen.load(bytes, { onProgress: ({ loaded, total }) => void (loaded + total) });
  const info: ModelInfo = gen.info();
  const size: number = gen.stateBytes() + info.vocab.length + info.parameters;
  const options: GenerateOptions = { tokens: 100, temperature: 0.8, topK: 0, topP: 1, seed: 1337n, signal };
  const run: Generation = gen.generate('ROMEO:', options);
  let text = '';
  for await (const c of run) text += c;
  for await (const chunk of gen.generate('', { seed: '7' }).chunks()) text += chunk;
  const result: GenerationResult = await run.done;
  const cps: number = gen.stats.charsPerSec + result.stats.position + size;
  run.stop();
  gen.dispose();
  return `${text}${result.stopped}${cps}`;
}

export async function inWorker(url: string): Promise<number> {
  const models: CausalGenModel[] = [await CausalGenWorker.load(url), await CausalGenDefault.load(new URL(url))];
  return models[0].info().nLayer + models[1].stateBytes();
}

export function describe(e: unknown): string {
  if (e instanceof CausalGenError && e.code === Status.CRC_MISMATCH) return `${e.status}: ${e.message}`;
  return String(e);
}

export async function misuse(gen: CausalGen): Promise<void> {
  // @ts-expect-error -- the prompt is a string
  gen.generate(42);
  // @ts-expect-error -- no such option
  gen.generate('', { tokenz: 5 });
  // @ts-expect-error -- temperature is a number
  gen.generate('', { temperature: 'hot' });
  // @ts-expect-error -- info is a method
  void gen.info.nLayer;
  // @ts-expect-error -- a model is not a number
  await CausalGen.load(12);
  // @ts-expect-error -- characters are strings
  for await (const c of gen.generate('')) { const n: number = c; void n; }
  // @ts-expect-error -- Status is read-only
  Status.OK = 1;
}
