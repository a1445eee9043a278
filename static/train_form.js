// The Train panel's choices: the ladder of architectures (ScratchSession.ladder(): title,
// description, layers, parameter count, defaults) and the knobs of a run, checked before
// anything starts (each refusal names the field and what it accepts).

const $ = (id) => document.getElementById(id);
const integer = (value) => Number.isInteger(value);

// id -> [option, label, check(value), what it accepts]
const FIELDS = {
  "scratch-lr": ["learning_rate", "Learning rate", (v) => v > 0 && v <= 10, "a number above 0, at most 10"],
  "scratch-lr-floor": ["lr_floor", "Learning rate floor", (v) => v >= 0, "0 or more"],
  "scratch-decay-steps": ["decay_steps", "Decay steps", (v) => integer(v) && v >= 1, "a whole number, 1 or more"],
  "scratch-batch": ["batch_size", "Batch size", (v) => integer(v) && v >= 1 && v <= 1000, "a whole number from 1 to 1000"],
  "scratch-dropout": ["dropout", "Dropout", (v) => v >= 0 && v < 1, "from 0 (none) to below 1"],
  "scratch-epochs": ["epochs", "Epochs", (v) => integer(v) && v >= 1 && v <= 100, "a whole number from 1 to 100"],
  "scratch-images": ["train_images", "Training images", (v) => integer(v) && v >= 1000 && v <= 60000, "a whole number from 1,000 to 60,000"],
  "scratch-seed": ["seed", "Seed", (v) => integer(v) && v >= 0 && v < 2 ** 31, "a whole number from 0 to 2147483647"],
};

const DECAY_ONLY = new Set(["lr_floor", "decay_steps"]);

function layerText(layer) {
  const { class_name: kind, ...config } = layer;
  const parts = Object.entries(config).map(([key, value]) =>
    `${key} ${Array.isArray(value) ? value.join("×") : value}`);
  return parts.length ? `${kind} (${parts.join(", ")})` : kind;
}

export class TrainForm {
  constructor() {
    this.ladder = [];
    this.arch = $("scratch-arch");
    this.arch.addEventListener("change", () => this.pick(this.arch.value));
    $("scratch-decay").addEventListener("change", () => this.decayChanged());
  }

  // ladder: ScratchSession.ladder(); `wanted` (a name) is chosen first when given.
  showLadder(ladder, wanted) {
    this.ladder = ladder;
    this.arch.replaceChildren(...ladder.map((rung, i) =>
      Object.assign(document.createElement("option"),
                    { value: rung.name, textContent: `${i + 1}. ${rung.title}` })));
    this.arch.disabled = false;
    this.pick(ladder.some((rung) => rung.name === wanted) ? wanted : ladder[0].name);
  }

  rung() {
    return this.ladder.find((rung) => rung.name === this.arch.value);
  }

  // Shows the rung and sets every knob to its defaults.
  pick(name) {
    this.arch.value = name;
    const rung = this.rung();
    const info = $("scratch-arch-info");
    const layers = document.createElement("ol");
    layers.className = "arch-layers";
    layers.append(...rung.layers.map((layer) =>
      Object.assign(document.createElement("li"), { textContent: layerText(layer) })));
    info.replaceChildren(
      Object.assign(document.createElement("p"), { className: "hint", textContent: rung.description }),
      layers,
      Object.assign(document.createElement("p"), {
        className: "params", textContent: `${rung.parameters.toLocaleString("en")} parameters` }));
    const d = rung.defaults;
    $("scratch-optimizer").value = d.optimizer;
    $("scratch-lr").value = String(d.learning_rate);
    $("scratch-decay").checked = d.decay === "exponential";
    $("scratch-lr-floor").value = String(d.lr_floor);
    $("scratch-decay-steps").value = String(d.decay_steps);
    $("scratch-batch").value = String(d.batch_size);
    $("scratch-dropout").value = String(d.dropout);
    $("scratch-epochs").value = String(d.epochs);
    this.decayChanged();
  }

  decayChanged() {
    const on = $("scratch-decay").checked;
    $("scratch-lr-floor").disabled = !on;
    $("scratch-decay-steps").disabled = !on;
  }

  setEnabled(enabled) {
    for (const element of document.querySelectorAll("#scratch-form select, #scratch-form input")) {
      element.disabled = !enabled;
    }
    this.arch.disabled = !enabled || !this.ladder.length;
    if (enabled) this.decayChanged();
  }

  // The run's options for ScratchSession.train, or throws an Error naming the bad field.
  options() {
    const options = { optimizer: $("scratch-optimizer").value,
                      decay: $("scratch-decay").checked ? "exponential" : "none" };
    for (const [id, [key, label, check, accepts]] of Object.entries(FIELDS)) {
      const input = $(id);
      if (DECAY_ONLY.has(key) && options.decay === "none") continue;
      const value = Number(input.value);
      if (input.value.trim() === "" || !Number.isFinite(value) || !check(value)) {
        input.focus();
        throw new Error(`${label}: "${input.value}" is not allowed; it takes ${accepts}.`);
      }
      options[key] = value;
    }
    return options;
  }
}
