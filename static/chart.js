// The loss chart: one line, the loss of each training step, on an axis from 0 to just
// above the largest loss so far; x spans the run's total steps.

export const CHART_LAYOUT = { left: 34, right: 6, top: 6, bottomGap: 16 };
const LINE = "#2f6fdb";
const AXIS = "#dedad2";
const LABEL = "#646a73";

// Canvas y of `loss` on a chart of `height` whose axis tops out at `top`.
export function lossY(loss, top, height) {
  const bottom = height - CHART_LAYOUT.bottomGap;
  return bottom - (bottom - CHART_LAYOUT.top) * (loss / top);
}

export function drawLossChart(canvas, losses, totalSteps) {
  const context = canvas.getContext("2d");
  const { width, height } = canvas;
  const { left, right, bottomGap } = CHART_LAYOUT;
  context.clearRect(0, 0, width, height);
  if (!losses.length) return;
  const top = Math.max(...losses) * 1.05 || 1;
  const bottom = height - bottomGap;
  context.fillStyle = LABEL;
  context.font = "11px system-ui, sans-serif";
  context.fillText(top.toFixed(2), 2, 12);
  context.fillText("0", 2, bottom);
  context.fillText(`step ${losses.length}/${totalSteps}`, width - 80, height - 3);
  context.strokeStyle = AXIS;
  context.lineWidth = 1;
  context.beginPath();
  context.moveTo(left, 4); context.lineTo(left, bottom); context.lineTo(width - 4, bottom);
  context.stroke();
  context.strokeStyle = LINE;
  context.lineWidth = 2;
  context.beginPath();
  losses.forEach((loss, i) => {
    const x = left + (width - left - right) * (totalSteps > 1 ? i / (totalSteps - 1) : 0);
    const y = lossY(loss, top, height);
    if (i === 0) context.moveTo(x, y); else context.lineTo(x, y);
  });
  context.stroke();
}
