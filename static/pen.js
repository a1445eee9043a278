// The drawing pad: pointer strokes (mouse, touch, pen) kept as vectors in pad units, drawn
// smooth at the screen's resolution, with the pad's keys (clear, undo, digit).

export const PAD_SIZE = 400;  // pad units per side, whatever the canvas resolution
const PEN_WIDTH = 26;         // in pad units
const PEN_COLOUR = "#15171c";
const MIN_STEP = 1.5;         // pad units between kept pointer samples

// Quadratic curves through the midpoints: a smooth line through noisy pointer samples.
function tracePath(context, points) {
  context.beginPath();
  context.moveTo(points[0].x, points[0].y);
  if (points.length === 1) {
    context.lineTo(points[0].x + 0.01, points[0].y);
  } else {
    for (let i = 1; i < points.length - 1; i++) {
      const mid = { x: (points[i].x + points[i + 1].x) / 2, y: (points[i].y + points[i + 1].y) / 2 };
      context.quadraticCurveTo(points[i].x, points[i].y, mid.x, mid.y);
    }
    const last = points[points.length - 1];
    context.lineTo(last.x, last.y);
  }
  context.stroke();
}

// Every stroke with round caps and joins; the caller sets the transform.
export function strokeAll(context, strokes, lineWidth, colour) {
  context.lineCap = "round";
  context.lineJoin = "round";
  context.lineWidth = lineWidth;
  context.strokeStyle = colour;
  for (const stroke of strokes) tracePath(context, stroke);
}

export class Pen {
  // onChange(final): the drawing changed; final is true on pen-up, clear and undo.
  // onDigitKey(digit): a digit key was pressed on the pad.
  constructor(canvas, { onChange, onDigitKey }) {
    this.canvas = canvas;
    this.context = canvas.getContext("2d");
    this.strokes = [];   // each stroke: [{x, y}] in pad units
    this.active = null;
    this.pointer = null;
    this.redrawQueued = false;
    this.onChange = onChange;
    this.onDigitKey = onDigitKey;
    canvas.addEventListener("pointerdown", (event) => this.down(event));
    canvas.addEventListener("pointermove", (event) => this.move(event));
    canvas.addEventListener("pointerup", (event) => this.up(event));
    canvas.addEventListener("pointercancel", (event) => this.up(event));
    canvas.addEventListener("keydown", (event) => this.key(event));
    this.fitResolution();
    new ResizeObserver(() => this.fitResolution()).observe(canvas);
  }

  get empty() { return this.strokes.length === 0; }

  clear() {
    this.strokes.length = 0;
    this.active = null;
    this.pointer = null;
    this.queueRedraw();
    this.onChange(true);
  }

  undo() {
    if (this.pointer !== null) return;
    this.strokes.pop();
    this.queueRedraw();
    this.onChange(true);
  }

  // Sharp on high-density screens: the bitmap follows the canvas's CSS size.
  fitResolution() {
    const ratio = Math.min(window.devicePixelRatio || 1, 3);
    const size = Math.round(this.canvas.clientWidth * ratio) || PAD_SIZE;
    if (this.canvas.width !== size) {
      this.canvas.width = this.canvas.height = size;
      this.redraw();
    }
  }

  redraw() {
    this.redrawQueued = false;
    const { canvas, context } = this;
    context.setTransform(1, 0, 0, 1, 0, 0);
    context.clearRect(0, 0, canvas.width, canvas.height);
    const scale = canvas.width / PAD_SIZE;
    context.setTransform(scale, 0, 0, scale, 0, 0);
    strokeAll(context, this.strokes, PEN_WIDTH, PEN_COLOUR);
  }

  queueRedraw() {
    if (!this.redrawQueued) {
      this.redrawQueued = true;
      requestAnimationFrame(() => this.redraw());
    }
  }

  point(event) {
    const box = this.canvas.getBoundingClientRect();
    return { x: (event.clientX - box.left) * PAD_SIZE / box.width,
             y: (event.clientY - box.top) * PAD_SIZE / box.height };
  }

  down(event) {
    if (this.pointer !== null || (event.pointerType === "mouse" && event.button !== 0)) return;
    event.preventDefault();
    this.canvas.focus({ preventScroll: true, focusVisible: false });
    this.canvas.setPointerCapture(event.pointerId);
    this.pointer = event.pointerId;
    this.active = [this.point(event)];
    this.strokes.push(this.active);
    this.queueRedraw();
    this.onChange(false);
  }

  move(event) {
    if (event.pointerId !== this.pointer) return;
    const coalesced = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    for (const sample of coalesced.length ? coalesced : [event]) {
      const point = this.point(sample);
      const last = this.active[this.active.length - 1];
      if (Math.hypot(point.x - last.x, point.y - last.y) >= MIN_STEP) this.active.push(point);
    }
    this.queueRedraw();
    this.onChange(false);
  }

  up(event) {
    if (event.pointerId !== this.pointer) return;
    this.pointer = null;
    this.active = null;
    this.queueRedraw();
    this.onChange(true);
  }

  key(event) {
    if (event.key === "Escape" || event.key === "Delete" || event.key === "Backspace") {
      event.preventDefault();
      this.clear();
    } else if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") {
      event.preventDefault();
      this.undo();
    } else if (/^[0-9]$/.test(event.key) && !event.ctrlKey && !event.metaKey && !event.altKey) {
      this.onDigitKey(Number(event.key));
    }
  }
}
