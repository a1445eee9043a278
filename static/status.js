// The status line (what the page is doing, in words, with a progress bar while starting)
// and the banner for problems that stop the page from working.

import { setMeter } from "./meter.js";

const line = document.getElementById("status");
const text = document.getElementById("status-text");
const meter = document.getElementById("status-meter");
const banner = document.getElementById("banner");

export function setStatus(message, kind = "") {
  text.textContent = message;
  line.className = `status ${kind}`;
  meter.hidden = true;
}

// A start-up stage: its words, and the bar (indeterminate when the fraction is unknown).
export function showStage({ stage, message, fraction }) {
  text.textContent = message;
  line.className = "status starting";
  line.dataset.stage = stage || "";
  meter.hidden = false;
  setMeter(meter, fraction, message);
}

export function showBanner(message) {
  banner.textContent = message;
  banner.hidden = false;
}
