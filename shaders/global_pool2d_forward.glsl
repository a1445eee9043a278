// ${OP}: x (${N}, ${H}, ${W}, ${C}) -> y (${N}, ${C}), over all ${H} x ${W} cells.
// Max keeps the first maximum in row-major order (strict '>'), like model_export's numpy.

void main() {
  if (out_texel_index() >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  ivec2 o = out_coords();
  vec4 acc = ${INIT};
  for (int row = 0; row < ${H}; ++row) {
    for (int col = 0; col < ${W}; ++col) {
      vec4 v = x_at(o.x, row, col, o.y);
      ${ACCUMULATE}
    }
  }
  write_output(${FINISH});
}
