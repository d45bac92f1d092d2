// `causalgen/worker` is the script a Web Worker runs for CausalGenWorker: it
// exports nothing (it answers messages). Importing it in a page does nothing useful.
export {};
