// avg_pool2d_forward: x (${N}, ${H}, ${W}, ${C}) -> y (${N}, ${OH}, ${OW}, ${C}),
// window (${PH}, ${PW}), strides (${SH}, ${SW}), pads top ${PAD_TOP} left ${PAD_LEFT}.
// The mean is over the valid cells only (padding is not counted), as in TF.

void main() {
  if (out_texel_index() >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  ivec4 y = out_coords();
  vec4 total = vec4(0.0);
  int count = 0;
  for (int py = 0; py < ${PH}; ++py) {
    int in_row = y.y * ${SH} + py - ${PAD_TOP};
    if (in_row < 0 || in_row >= ${H}) continue;
    for (int px = 0; px < ${PW}; ++px) {
      int in_col = y.z * ${SW} + px - ${PAD_LEFT};
      if (in_col < 0 || in_col >= ${W}) continue;
      total += x_at(y.x, in_row, in_col, y.w);
      count += 1;
    }
  }
  write_output(total / float(count));
}
