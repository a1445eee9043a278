// avg_pool2d_backward_input: dx (${N}, ${H}, ${W}, ${C}) from dy (${N}, ${OH}, ${OW}, ${C}),
// window (${PH}, ${PW}), strides (${SH}, ${SW}), pads top ${PAD_TOP} left ${PAD_LEFT}.
// Each window's dy is shared evenly by its valid (unpadded) cells, as in the forward.
${HELPERS}

void main() {
  if (out_texel_index() >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  ivec4 o = out_coords();
${WINDOWS_OF_CELL}
  vec4 acc = vec4(0.0);
  for (int oy = oy_lo; oy <= oy_hi; ++oy) {
    int top = oy * ${SH} - ${PAD_TOP};
    int rows = min(top + ${PH}, ${H}) - max(top, 0);
    for (int ox = ox_lo; ox <= ox_hi; ++ox) {
      int left = ox * ${SW} - ${PAD_LEFT};
      int cols = min(left + ${PW}, ${W}) - max(left, 0);
      acc += dy_at(o.x, oy, ox, o.w) / float(rows * cols);
    }
  }
  write_output(acc * lane_mask(4 * o.w, ${C}));
}
