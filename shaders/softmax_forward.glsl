// softmax_forward over the last axis: x (${ROWS}, ${UNITS}) -> y, max-subtracted.

void main() {
  int i = output_index(${OUT_WIDTH});
  if (i >= ${SIZE}) { write_output(0.0); return; }
  int row = i / ${UNITS};
  float largest = -3.402823466e+38;
  for (int j = 0; j < ${UNITS}; ++j) {
    largest = max(largest, x_at(row, j));
  }
  float total = 0.0;
  for (int j = 0; j < ${UNITS}; ++j) {
    total += exp(x_at(row, j) - largest);
  }
  write_output(exp(x_at(row, i - row * ${UNITS}) - largest) / total);
}
