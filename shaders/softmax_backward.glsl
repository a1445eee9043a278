// softmax backward over the last axis, from its output y: dx = y * (dy - sum(dy * y)),
// the sum over the ${UNITS} values (${U4} texels) of the row; a row's last texel keeps
// only its real lanes.
void main() {
  int t = out_texel_index();
  if (t >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  int row = t / ${U4};
  int u4 = t - row * ${U4};
  float total = 0.0;
  for (int g = 0; g < ${U4}; ++g) {
    vec4 keep = g < ${U_FULL4} ? vec4(1.0) : ${TAIL_MASK};
    total += dot(dy_at(row, g) * y_at(row, g), keep);
  }
  write_output(y_at(row, u4) * (dy_at(row, u4) - total));
}
