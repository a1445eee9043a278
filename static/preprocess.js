// The 28x28 image the network sees, made like MNIST, and the preview that shows it.
//
// The ink's bounding box (stroke width included) is scaled so its longest side is 20 px,
// keeping the aspect ratio, drawn anti-aliased into 28x28, then moved so that its centre
// of mass is at the centre. The strokes are re-drawn as vectors at that scale, so a tiny
// or huge drawing gets the same clean, MNIST-thick pen (STROKE_28 px). Ink is 1.0 on 0.0.

import { PAD_SIZE, strokeAll } from "./pen.js";

const STROKE_28 = 2.6;
const BOX_28 = 20;
const MIN_INK_SHARE = 0.1;  // a dot or tiny scribble is not blown up into a blob

const small = document.createElement("canvas");
small.width = small.height = 28;
const smallContext = small.getContext("2d", { willReadFrequently: true });

function inkBounds(strokes) {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (const stroke of strokes) {
    for (const { x, y } of stroke) {
      minX = Math.min(minX, x); maxX = Math.max(maxX, x);
      minY = Math.min(minY, y); maxY = Math.max(maxY, y);
    }
  }
  return { minX, minY, maxX, maxY };
}

function render28(strokes, scale, centreX, centreY, shiftX, shiftY) {
  smallContext.setTransform(1, 0, 0, 1, 0, 0);
  smallContext.fillStyle = "#000";
  smallContext.fillRect(0, 0, 28, 28);
  smallContext.setTransform(scale, 0, 0, scale, 14 + shiftX - centreX * scale,
                            14 + shiftY - centreY * scale);
  strokeAll(smallContext, strokes, STROKE_28 / scale, "#fff");
  const rgba = smallContext.getImageData(0, 0, 28, 28).data;
  const image = new Float32Array(784);
  for (let i = 0; i < 784; i++) image[i] = rgba[4 * i] / 255;
  return image;
}

function centreOfMass(image) {
  let total = 0, sumX = 0, sumY = 0;
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const v = image[y * 28 + x];
      total += v; sumX += v * (x + 0.5); sumY += v * (y + 0.5);
    }
  }
  return total > 0 ? { x: sumX / total, y: sumY / total } : { x: 14, y: 14 };
}

// Float32Array(784), row-major, or null when nothing is drawn.
export function mnistImage(strokes) {
  if (!strokes.length) return null;
  const { minX, minY, maxX, maxY } = inkBounds(strokes);
  const longest = Math.max(maxX - minX, maxY - minY, PAD_SIZE * MIN_INK_SHARE);
  const scale = (BOX_28 - STROKE_28) / longest;
  const centreX = (minX + maxX) / 2, centreY = (minY + maxY) / 2;
  const first = render28(strokes, scale, centreX, centreY, 0, 0);
  const mass = centreOfMass(first);
  return render28(strokes, scale, centreX, centreY, 14 - mass.x, 14 - mass.y);
}

export class InputPreview {
  constructor(canvas) {
    this.canvas = canvas;
    this.context = canvas.getContext("2d");
  }

  show(image) {
    const pixels = this.context.createImageData(28, 28);
    for (let i = 0; i < 784; i++) {
      const v = image ? Math.round(image[i] * 255) : 0;
      pixels.data[4 * i] = pixels.data[4 * i + 1] = pixels.data[4 * i + 2] = v;
      pixels.data[4 * i + 3] = 255;
    }
    this.context.putImageData(pixels, 0, 0);
  }

  // A PNG data URL of `image` (the preview shows it too).
  thumbnail(image) {
    this.show(image);
    return this.canvas.toDataURL("image/png");
  }
}
