// softmax_forward over the last axis: x (${ROWS}, ${UNITS}) -> y, max-subtracted.

void main() {
  int i = output_index(${OUT_WIDTH});
  if (i >= ${SIZE}) { write_output(0.0); return; }
  int row_base = (i / ${UNITS}) * ${UNITS};
  float largest = -3.402823466e+38;
  for (int j = 0; j < ${UNITS}; ++j) {
    largest = max(largest, get_x(row_base + j));
  }
  float total = 0.0;
  for (int j = 0; j < ${UNITS}; ++j) {
    total += exp(get_x(row_base + j) - largest);
  }
  write_output(exp(get_x(i) - largest) / total);
}
