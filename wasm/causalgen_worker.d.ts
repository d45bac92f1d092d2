// `causalgen/worker` is the script a Web Worker runs for CausalGenWorker: it
// exports nothing (it answers messages); imported outside a worker it does nothing.
export {};
