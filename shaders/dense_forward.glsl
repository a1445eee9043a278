// dense_forward: y (${ROWS}, ${UNITS}) = activation(x (${ROWS}, ${K}) @ kernel (${K}, ${UNITS}) + bias).
${ACTIVATION}

// One output of the matmul before the activation: row `row`, column `col`.
float dense_logit(int row, int col) {
  float acc = ${BIAS_INIT};
  int x_base = row * ${K};
  int k = 0;
  // Four products per step through dot(): the compiler maps it onto vector units.
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
  write_output(activate(dense_logit(row, col)));
}
