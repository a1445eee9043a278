// dense_forward + softmax: y (${ROWS}, ${UNITS}) = softmax(x (${ROWS}, ${K}) @ kernel + bias).
// Each fragment recomputes its row's ${UNITS} logits: cheaper than a second pass for few units.

float dense_logit(int row, int col) {
  float acc = ${BIAS_INIT};
  int x_base = row * ${K};
  int k = 0;
  for (; k < ${K4}; k += 4) {
    vec4 xs = vec4(get_x(x_base + k), get_x(x_base + k + 1),
                   get_x(x_base + k + 2), get_x(x_base + k + 3));
    int kernel_base = k * ${UNITS} + col;
    vec4 ws = vec4(get_kernel(kernel_base), get_kernel(kernel_base + ${UNITS}),
                   get_kernel(kernel_base + ${UNITS2}), get_kernel(kernel_base + ${UNITS3}));
    acc += dot(xs, ws);
  }
  for (; k < ${K}; ++k) {
    acc += get_x(x_base + k) * get_kernel(k * ${UNITS} + col);
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
