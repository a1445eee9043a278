// max_pool2d_backward_input: dx (${N}, ${H}, ${W}, ${C}) from dy (${N}, ${OH}, ${OW}, ${C}),
// window (${PH}, ${PW}), strides (${SH}, ${SW}), pads top ${PAD_TOP} left ${PAD_LEFT}.
// Each window's dy goes to its FIRST maximum in row-major window order (strict '>', as
// the forward and numpy's argmax); each fragment re-finds the max of every window that
// holds its cell. 4 channels per fragment.
${HELPERS}

void main() {
  if (out_texel_index() >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  ivec4 o = out_coords();
${WINDOWS_OF_CELL}
  vec4 acc = vec4(0.0);
  for (int oy = oy_lo; oy <= oy_hi; ++oy) {
    for (int ox = ox_lo; ox <= ox_hi; ++ox) {
      int top = oy * ${SH} - ${PAD_TOP};
      int left = ox * ${SW} - ${PAD_LEFT};
      vec4 best = vec4(-3.402823466e+38);
      vec4 best_at = vec4(-1.0);
      for (int py = 0; py < ${PH}; ++py) {
        int in_row = top + py;
        if (in_row < 0 || in_row >= ${H}) continue;
        for (int px = 0; px < ${PW}; ++px) {
          int in_col = left + px;
          if (in_col < 0 || in_col >= ${W}) continue;
          vec4 v = x_at(o.x, in_row, in_col, o.w);
          bvec4 better = greaterThan(v, best);
          best = mix(best, v, better);
          best_at = mix(best_at, vec4(float(py * ${PW} + px)), better);
        }
      }
      float mine = float((o.y - top) * ${PW} + (o.z - left));
      acc += dy_at(o.x, oy, ox, o.w) * vec4(equal(best_at, vec4(mine)));
    }
  }
  write_output(acc * lane_mask(4 * o.w, ${C}));
}
