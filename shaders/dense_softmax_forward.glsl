// dense_forward + softmax: y (${ROWS}, ${UNITS}) = softmax(x (${ROWS}, ${K}) @ kernel + bias).
// Each fragment recomputes its row's ${UNITS} logits: cheaper than a second pass for few units.

// One output of the matmul before the activation: row `row`, column `col`.
float dense_logit(int row, int col) {
  float acc = ${BIAS_INIT};
  // x's row is contiguous in the flat layout: walk its texels, wrapping at the texture
  // width, instead of dividing for every element.
  int start = row * ${K};
  ivec2 texel = ivec2(start % ${X_WIDTH}, start / ${X_WIDTH});
  for (int k = 0; k < ${K}; ++k) {
    acc += texelFetch(x, texel, 0).r * kernel_at(k, col);
    texel.x += 1;
    if (texel.x == ${X_WIDTH}) {
      texel.x = 0;
      texel.y += 1;
    }
  }
  return acc;
}

void main() {
  int i = output_index(${OUT_WIDTH});
  if (i >= ${SIZE}) { write_output(0.0); return; }
  int row = i / ${UNITS};
  int col = i - row * ${UNITS};
  float logits[${UNITS}];
  float largest = -3.402823466e+38;
  for (int j = 0; j < ${UNITS}; ++j) {
    logits[j] = dense_logit(row, j);
    largest = max(largest, logits[j]);
  }
  // Max-subtracted so exp never overflows; the largest term is exactly 1.
  float total = 0.0;
  for (int j = 0; j < ${UNITS}; ++j) {
    total += exp(logits[j] - largest);
  }
  write_output(exp(logits[col] - largest) / total);
}
