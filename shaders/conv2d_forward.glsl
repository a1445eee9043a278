// conv2d_forward: x (${N}, ${H}, ${W}, ${CIN}) * kernel (${KH}, ${KW}, ${CIN}, ${COUT})
// -> y (${N}, ${OH}, ${OW}, ${COUT}), strides (${SH}, ${SW}), pads top ${PAD_TOP} left ${PAD_LEFT}.
// Each fragment computes 4 output channels (4*co4 .. 4*co4+3) of one output pixel.
${ACTIVATION}

void main() {
  if (out_texel_index() >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  ivec4 y = out_coords();
  int co4 = y.w;
  vec4 acc = ${BIAS_INIT};
  for (int ky = 0; ky < ${KH}; ++ky) {
    int in_row = y.y * ${SH} + ky - ${PAD_TOP};
    // Padding cells are zero: skipping them adds nothing.
    if (in_row < 0 || in_row >= ${H}) continue;
    for (int kx = 0; kx < ${KW}; ++kx) {
      int in_col = y.z * ${SW} + kx - ${PAD_LEFT};
      if (in_col < 0 || in_col >= ${W}) continue;
      for (int c4 = 0; c4 < ${CIN_FULL4}; ++c4) {
        vec4 xs = x_at(y.x, in_row, in_col, c4);
        int ci = 4 * c4;
        acc += xs.x * kernel_at(ky, kx, ci, co4) + xs.y * kernel_at(ky, kx, ci + 1, co4)
             + xs.z * kernel_at(ky, kx, ci + 2, co4) + xs.w * kernel_at(ky, kx, ci + 3, co4);
      }
${CIN_TAIL}
    }
  }
  write_output(activate(acc));
}
