// Saved versions: "Save model" uploads the drawing model's weights as a new version on the
// server; the picker lists every version and loads the one chosen (shadernet.mjs's
// loadModel; the model before is freed once the new one is loaded).

import { describeModel, showInfo } from "./hood.js";
import { loadModel } from "./shadernet.mjs";
import { setStatus } from "./status.js";
import { postWithToken } from "./upload_token.js";

const $ = (id) => document.getElementById(id);
const NAME_RULE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

// exported: a Model's or Trainer's export(), {modelJson: File, weights: [File]}.
function uploadForm(exported, base) {
  const form = new FormData();
  form.append("model_json", exported.modelJson, "model.json");
  for (const file of exported.weights) form.append("shards", file, file.name);
  if (base) form.append("base", base);
  else form.append("from_scratch", "true");
  return form;
}

export class ModelShelf {
  // app: {model, useModel(next), state, config, controlsChanged(), drawingUpdated()}
  constructor(app) {
    this.app = app;
    this.picker = $("model-picker");
    this.picks = 0;  // picks started: the latest one is the one that counts
    $("save-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.save($("save-name").value.trim());
    });
    this.picker.addEventListener("change", () => this.pick());
  }

  async save(name) {
    const { app } = this;
    const body = await this.upload(name, () => app.model.export(), app.state.current.name,
                                   $("save-name"));
    // The model still holds the weights it loaded, so Reset keeps returning to those.
    if (body) app.state.current = { name: body.name, version: body.version, url: body.model_json_url };
    if (body) this.picker.value = body.model_json_url;
  }

  // Exports (exportFiles() -> {modelJson, weights}) and uploads as `name`'s next version;
  // base: the model it was fine-tuned from, null for one trained from scratch. Resolves with
  // the server's answer, or null (the status line says why).
  async upload(name, exportFiles, base, nameInput) {
    const { app } = this;
    if (!NAME_RULE.test(name)) {
      setStatus("Name: 1 to 64 characters, lowercase letters, digits, '_' or '-', starting with a letter or digit.", "error");
      nameInput.focus();
      return null;
    }
    $("save").disabled = true;
    try {
      setStatus(`Saving as ${name}…`);
      const exported = await exportFiles();
      const url = `${app.config.models_api_url}/${encodeURIComponent(name)}/versions`;
      const response = await postWithToken(url, uploadForm(exported, base));
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(body.detail || `HTTP ${response.status}`);
      await this.refresh();
      setStatus(`Ready — saved as ${body.name} ${body.version}.`, "ready");
      return body;
    } catch (error) {
      setStatus(`Save failed: ${error.message}`, "error");
      return null;
    } finally {
      app.controlsChanged();
    }
  }

  async refresh() {
    let response;
    try {
      response = await fetch(this.app.config.models_api_url);
    } catch (error) {  // not an HTTP error: nothing answered
      throw new Error(`the server is unreachable (${location.origin}): the model list did not `
                      + `load (${error.message}); saving and other models need it`);
    }
    if (!response.ok) throw new Error(`listing models: HTTP ${response.status}`);
    const models = await response.json();
    this.picker.replaceChildren();
    for (const model of models) {
      for (const version of model.versions) {
        const option = document.createElement("option");
        option.value = version.model_json_url;
        option.textContent = version.read_only ? `${model.name} (shipped)`
          : `${model.name} ${version.version} · ${new Date(version.created).toLocaleString()}`;
        option.dataset.name = model.name;
        option.dataset.version = version.version;
        this.picker.append(option);
      }
    }
    this.picker.value = this.app.state.current.url || "";
  }

  async pick() {
    const { app, picker } = this;
    const option = picker.selectedOptions[0];
    if (!option) return;
    const label = `${option.dataset.name} ${option.dataset.version}`;
    // A later pick (a second change event, a person changing their mind) wins: an earlier
    // one still loading drops its model and says nothing.
    const pick = ++this.picks;
    const superseded = () => pick !== this.picks;
    app.state.modelReady = false;
    app.controlsChanged();
    setStatus(`Loading ${label}…`);
    try {
      const model = await loadModel(option.value);
      if (superseded()) {
        await model.dispose();
        return;
      }
      await app.useModel(model);
      app.state.current = { name: option.dataset.name, version: option.dataset.version, url: option.value };
      app.state.changedSinceLoad = false;
      app.state.canTrain = model.canTrain;
      describeModel(model, label);
      app.state.modelReady = true;
      setStatus(`Ready — ${label} loaded.`, "ready");
      await showInfo(model);
      app.drawingUpdated();
    } catch (error) {
      if (superseded()) return;
      app.state.modelReady = true;  // the previous model is still loaded and usable
      picker.value = app.state.current.url || "";
      setStatus(`Could not load ${label}: ${error.message}`, "error");
    } finally {
      app.controlsChanged();
    }
  }
}
