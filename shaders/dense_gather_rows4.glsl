// dense_gather_rows4: y (${ROWS}, ${UNITS}) from the four targets of dense_forward_rows4
// (row r is row r / 4 of part r % 4): one fetch per texel.

void main() {
  int t = out_texel_index();
  if (t >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  int row = t / ${U4};
  int u4 = t - row * ${U4};
  int g = row / 4;
  int j = row - 4 * g;
  vec4 v = j == 0 ? part0_at(g, u4) : j == 1 ? part1_at(g, u4)
         : j == 2 ? part2_at(g, u4) : part3_at(g, u4);
  write_output(v);
}
