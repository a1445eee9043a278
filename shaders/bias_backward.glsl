// ${OP}: dbias (${UNITS},) = sum of dz over ${ROWS} rows (every leading axis), dz = dy * f'(y).
// dz is walked by flat texel: row r, texel c4 is texel r * ${U4} + c4.
${HELPERS}

void main() {
  int c4 = out_texel_index();
  if (c4 >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  vec4 acc = vec4(0.0);
  ivec2 p = ivec2(c4 % ${DY_WIDTH}, c4 / ${DY_WIDTH});
  for (int row = 0; row < ${ROWS}; ++row) {
    acc += dz_fetch(p);
    p.x += ${U4};
    // U4 <= width, so one wrap at most.
    if (p.x >= ${DY_WIDTH}) { p.x -= ${DY_WIDTH}; p.y += 1; }
  }
  write_output(acc * lane_mask(4 * c4, ${UNITS}));
}
