// ${OP}: dgamma (${C},) = sum over ${ROWS} rows (every leading axis) of
// dy * (x - moving_mean) / sqrt(moving_variance + epsilon); dy and x walked by flat texel.
${LANE_MASK}

void main() {
  int c4 = out_texel_index();
  if (c4 >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  vec4 mean = mean_at(c4);
  vec4 acc = vec4(0.0);
  ivec2 p = ivec2(c4 % ${DY_WIDTH}, c4 / ${DY_WIDTH});
  ivec2 q = ivec2(c4 % ${X_WIDTH}, c4 / ${X_WIDTH});
  for (int row = 0; row < ${ROWS}; ++row) {
    acc += dy_fetch(p) * (x_fetch(q) - mean);
    p.x += ${C4};
    q.x += ${C4};
    // C4 <= both widths, so one wrap at most.
    if (p.x >= ${DY_WIDTH}) { p.x -= ${DY_WIDTH}; p.y += 1; }
    if (q.x >= ${X_WIDTH}) { q.x -= ${X_WIDTH}; q.y += 1; }
  }
  write_output(acc / sqrt(variance_at(c4) + ${EPSILON}) * lane_mask(4 * c4, ${C}));
}
