// Line charts on a canvas: the fine-tuning loss chart (one line, the loss of each step, on
// an axis from 0 to just above the largest loss so far; x spans the run's total steps) and
// the Train panel's curves (several series, per batch and per epoch).

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

// Several curves on one chart, for the Train panel: series = [{points: [[x, y], ...],
// color, dots}] (dots: a marker per point, for per-epoch figures), x from 0 to xMax, y from
// 0 to yMax (null: just above the largest y); label: the x axis' words at the right.
export function drawCurves(canvas, series, { xMax, yMax = null, label = "" }) {
  const context = canvas.getContext("2d");
  const { width, height } = canvas;
  const { left, right, bottomGap } = CHART_LAYOUT;
  context.clearRect(0, 0, width, height);
  const ys = series.flatMap((s) => s.points.map(([, y]) => y)).filter(Number.isFinite);
  if (!ys.length) return;
  const top = yMax ?? (Math.max(...ys) * 1.05 || 1);
  const bottom = height - bottomGap;
  const toX = (x) => left + (width - left - right) * (xMax > 0 ? Math.min(x / xMax, 1) : 0);
  context.fillStyle = LABEL;
  context.font = "11px system-ui, sans-serif";
  context.fillText(top.toFixed(2), 2, 12);
  context.fillText("0", 2, bottom);
  if (label) context.fillText(label, width - 6 - context.measureText(label).width, height - 3);
  context.strokeStyle = AXIS;
  context.lineWidth = 1;
  context.beginPath();
  context.moveTo(left, 4); context.lineTo(left, bottom); context.lineTo(width - 4, bottom);
  context.stroke();
  for (const { points, color, dots } of series) {
    context.strokeStyle = color;
    context.fillStyle = color;
    context.lineWidth = 2;
    context.beginPath();
    points.forEach(([x, y], i) => {
      const px = toX(x);
      const py = lossY(Math.min(y, top), top, height);
      if (i === 0) context.moveTo(px, py); else context.lineTo(px, py);
    });
    context.stroke();
    if (dots) {
      for (const [x, y] of points) {
        context.beginPath();
        context.arc(toX(x), lossY(Math.min(y, top), top, height), 3.5, 0, 2 * Math.PI);
        context.fill();
      }
    }
  }
}
