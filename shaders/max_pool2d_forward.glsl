// max_pool2d_forward: x (${N}, ${H}, ${W}, ${C}) -> y (${N}, ${OH}, ${OW}, ${C}),
// window (${PH}, ${PW}), strides (${SH}, ${SW}), pads top ${PAD_TOP} left ${PAD_LEFT}.
// Padding cells are skipped (never the max); ties keep the first maximum in row-major
// window order (strict '>'), like numpy's argmax in model_export. 4 channels per fragment.

void main() {
  if (out_texel_index() >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  ivec4 y = out_coords();
  // Every window holds at least one input cell (TF's 'same' rule), so the sentinel is
  // always replaced.
  vec4 best = vec4(-3.402823466e+38);
  for (int py = 0; py < ${PH}; ++py) {
    int in_row = y.y * ${SH} + py - ${PAD_TOP};
    if (in_row < 0 || in_row >= ${H}) continue;
    for (int px = 0; px < ${PW}; ++px) {
      int in_col = y.z * ${SW} + px - ${PAD_LEFT};
      if (in_col < 0 || in_col >= ${W}) continue;
      vec4 v = x_at(y.x, in_row, in_col, y.w);
      best = mix(best, v, greaterThan(v, best));
    }
  }
  write_output(best);
}
