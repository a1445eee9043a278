// The public module's errors: every rejection of shadernet.mjs is a ShadernetError (an
// Error) with a `code`, of the subclass that code belongs to.

export class ShadernetError extends Error {
  constructor(message, code) {
    super(message);
    this.name = "ShadernetError";
    this.code = code;
  }
}
export class WebGLUnavailableError extends ShadernetError {}  // webgl2-unavailable, float-render-targets
export class ContextLostError extends ShadernetError {}       // context-lost
export class ModelFormatError extends ShadernetError {}       // model-format: the reader's message
export class FetchError extends ShadernetError {}             // fetch: a file could not be loaded
export class ArgumentError extends ShadernetError {}          // argument, shape, training

const ERROR_CLASSES = {
  "webgl2-unavailable": WebGLUnavailableError, "float-render-targets": WebGLUnavailableError,
  "context-lost": ContextLostError, "model-format": ModelFormatError, fetch: FetchError,
  argument: ArgumentError, shape: ArgumentError, training: ArgumentError,
};

// The worker's message of a Python exception starts with its class ("webgl_backend.errors.
// ModelFormatError: ..."): the code says that, the message keeps the words.
const PYTHON_CLASS_PREFIX = /^(?:\w+\.)*\w*(?:Error|Exception): /;

export function shadernetError(message, code) {
  const text = String(message).replace(PYTHON_CLASS_PREFIX, "");
  const ErrorClass = ERROR_CLASSES[code] || ShadernetError;
  const error = new ErrorClass(text, code);
  error.name = ErrorClass.name;
  return error;
}
