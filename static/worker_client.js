// The page's side of the model worker (worker.js): calls are promises matched to replies
// by id; messages without an id (progress, train, warmup) go to `listeners`.
//
// main -> worker: {id, method, args}       worker -> main: {id, result} | {id, error}

export class ModelWorker {
  constructor(url) {
    this.worker = new Worker(url, { type: "module" });
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = { progress: () => {}, train: () => {}, warmup: () => {}, scratch: () => {} };
    this.worker.onmessage = (event) => this.receive(event.data);
    this.worker.onerror = (event) => {
      event.preventDefault();
      this.failAll(`the worker failed: ${event.message || "could not start it"}`);
    };
  }

  call(method, ...args) {
    return this.callTransferring(method, [], ...args);
  }

  // As call(), moving `transfer` (ArrayBuffers in args) to the worker instead of copying.
  callTransferring(method, transfer, ...args) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, method, args }, transfer);
    });
  }

  receive(message) {
    if (message.id === undefined) {
      this.listeners[message.type]?.(message);
      return;
    }
    const waiting = this.pending.get(message.id);
    this.pending.delete(message.id);
    if (!waiting) return;
    if ("error" in message) waiting.reject(new Error(message.error));
    else waiting.resolve(message.result);
  }

  terminate() {
    this.worker.terminate();
    this.failAll("the worker was stopped");
  }

  failAll(text) {
    for (const { reject } of this.pending.values()) reject(new Error(text));
    this.pending.clear();
  }
}
