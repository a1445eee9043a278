// gather_rows4_flat: y ${Y_SHAPE} (${ROWS} rows of ${BLOCK} texels, in y's own layout) from
// the four targets of a four-rows-per-fragment program: row r is row r / 4 of part r % 4,
// each part (${GROUPS} rows of ${BLOCK} texels). Addressed by flat texel index, so y may be
// any shape holding those rows in the same texel order (a Flatten's NHWC input).
${HELPERS}

void main() {
  int t = out_texel_index();
  if (t >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  int row = t / ${BLOCK};
  int g = row / 4;
  int j = row - 4 * g;
  int s = g * ${BLOCK} + (t - row * ${BLOCK});
  vec4 v = j == 0 ? part0_texel(s) : j == 1 ? part1_texel(s)
         : j == 2 ? part2_texel(s) : part3_texel(s);
  write_output(${RESULT});
}
