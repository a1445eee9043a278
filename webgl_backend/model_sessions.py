"""The public JS module's models (static/shadernet.mjs): several models on one GL context.

    models = ModelSessions(context)             # context: the worker's GLContext
    info = models.open(model_json_text, shards) # {"id", "layers", "input_shape", ...}
    model_id = models.adopt(session)            # a PageSession loaded during start-up
    models.predict(id, images, n); models.layer_maps(id, image)
    await models.fit(id, images, labels, n, on_progress, options, replay_images, replay_labels, replay_n)
    models.reset(id); models.info(id); models.export(id); models.close(id)
    models.context_restored()                   # after a lost context came back

Each model is a `PageSession` of its own (its Runtime, its FineTuner) on the shared
context, so one worker serves every model of a page. A lost context takes every model's
textures and programs with it; once the browser restores it, `context_restored` starts
the context afresh and forgets the models (their ids answer ContextLostError: load them
again), since rebuilding them would silently drop what fine-tuning had changed. Like
worker_api, every value returned is plain Python and this runs in CPython too (with FakeGL).
"""

from __future__ import annotations

from webgl_backend.context import GLContext
from webgl_backend.errors import ContextLostError
from webgl_backend.host_data import to_py
from webgl_backend.worker_api import PageSession

# The public fit trains on exactly what it is given: no jittered copies unless asked.
PUBLIC_FIT_DEFAULTS = {"copies": 0}


class ModelSessions:
    """Loaded models by id, all on one GLContext."""

    def __init__(self, context: GLContext) -> None:
        self.context = context
        self._sessions: dict[int, PageSession] = {}
        self._lost: set[int] = set()  # ids of models that died with a lost context
        self._next_id = 1

    def open(self, model_json_text, shards) -> dict:
        """Validate and upload a model, warmed up; returns its load info with its new "id"."""
        session = PageSession(self.context)
        info = session.load(model_json_text, shards)
        warm = session.warm_up()
        return {"id": self.adopt(session), **info, "warmup_ms": warm["ms"]}

    def adopt(self, session: PageSession) -> int:
        """Take a model loaded outside (the worker's start-up loads the first one while
        Python boots); returns its id."""
        if session.runtime.context is not self.context:
            raise ValueError("adopt: the model is on another GL context")
        model_id = self._next_id
        self._next_id += 1
        self._sessions[model_id] = session
        return model_id

    def session(self, model_id) -> PageSession:
        session = self._sessions.get(int(model_id))
        if session is None and int(model_id) in self._lost:
            raise ContextLostError(
                f"model {model_id} was lost with the WebGL context (restored since, "
                "empty): load the model again")
        if session is None:
            raise ValueError(f"model {model_id} is not loaded (disposed, or never loaded); "
                             f"loaded: {sorted(self._sessions) or 'none'}")
        return session

    def predict(self, model_id, images, n: int) -> dict:
        return self.session(model_id).predict(images, n)

    def layer_maps(self, model_id, image) -> dict:
        """predict's answer for one image plus every layer's output (the 'Layers' view)."""
        return self.session(model_id).layers(image)

    async def fit(self, model_id, images, labels, n: int, on_progress=None, options=None,
                  replay_images=None, replay_labels=None, replay_n: int = 0) -> dict:
        """Fine-tune on the n images given (+ `copies` jittered copies of each, default 0),
        mixed with replay_n other images (e.g. MNIST, so that the model keeps what it knew);
        options as TrainOptions."""
        settings = {**PUBLIC_FIT_DEFAULTS, **_as_dict(options)}
        return await self.session(model_id).fit(images, labels, n, replay_images, replay_labels,
                                                int(replay_n or 0), on_progress=on_progress,
                                                options=settings)

    def reset(self, model_id) -> None:
        """Weights and optimizer state back to the values the model was loaded with."""
        self.session(model_id).reset()

    def info(self, model_id) -> dict:
        """Layers and shapes, the last forward pass's draws and GL calls, the generated GLSL."""
        session = self.session(model_id)
        model = session.model
        layers = [{"name": spec.name, "class_name": spec.class_name,
                   "output_shape": list(spec.output_shape)} for spec in model.artifacts.layers]
        return {"layers": layers, "input_shape": list(model.input_shape),
                "output_shape": list(model.output_shape), **session.counters(),
                "sources": session.sources()}

    def export(self, model_id) -> dict:
        return self.session(model_id).export()

    def close(self, model_id) -> None:
        """Free the model's textures and programs; its id is refused from then on."""
        if int(model_id) in self._lost:
            self._lost.discard(int(model_id))  # nothing left to free
            return
        session = self.session(model_id)
        del self._sessions[int(model_id)]
        session.dispose()

    def context_restored(self) -> None:
        """The browser gave the context back, empty: start it afresh, forget every model."""
        self.context.reset_after_restore()
        sessions, self._sessions = self._sessions, {}
        self._lost.update(sessions)
        for session in sessions.values():
            try:
                session.dispose()  # textures of the old context: forgotten, no GL call
            except RuntimeError:
                pass  # a fit that the loss stopped has not unwound yet: nothing to free


def _as_dict(options) -> dict:
    return dict(to_py(options)) if options is not None else {}
