// A progress bar: div.meter[role=progressbar] > .meter-fill. `fraction` 0..1 sets the
// fill's width; null means "busy, amount unknown" (an animated stripe, no aria-valuenow).

export function setMeter(meter, fraction, text) {
  const fill = meter.querySelector(".meter-fill");
  const known = fraction !== null && fraction !== undefined && Number.isFinite(fraction);
  meter.classList.toggle("indeterminate", !known);
  if (known) {
    const clamped = Math.min(1, Math.max(0, fraction));
    fill.style.width = `${(clamped * 100).toFixed(2)}%`;
    meter.setAttribute("aria-valuenow", String(Math.round(clamped * 100)));
  } else {
    fill.style.width = "";
    meter.removeAttribute("aria-valuenow");
  }
  meter.setAttribute("aria-valuetext", text);
}
