// reshape_forward: x ${X_SHAPE} -> y ${Y_SHAPE}, same flat order. A copy is needed only
// when the last axis changes and x's is not a multiple of 4 (the packing differs).

float x_element(int e) {
  int prefix = e / ${X_LAST};
  int c = e - prefix * ${X_LAST};
  return x_texel(prefix * ${X_LAST4} + c / 4)[c % 4];
}

void main() {
  int t = out_texel_index();
  if (t >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  int row = t / ${Y_LAST4};
  int first = row * ${Y_LAST} + (t - row * ${Y_LAST4}) * 4;
  int row_end = (row + 1) * ${Y_LAST};
  vec4 v = vec4(0.0);
  for (int j = 0; j < 4; ++j) {
    if (first + j < row_end) v[j] = x_element(first + j);
  }
  write_output(v);
}
