// conv2d_forward: x (${N}, ${H}, ${W}, ${CIN}) * kernel (${KH}, ${KW}, ${CIN}, ${COUT})
// -> y (${N}, ${OH}, ${OW}, ${COUT}), strides (${SH}, ${SW}), pads top ${PAD_TOP} left ${PAD_LEFT}.
${ACTIVATION}

void main() {
  int i = output_index(${OUT_WIDTH});
  if (i >= ${SIZE}) { write_output(0.0); return; }
  ivec4 y = nhwc_coords(i, ${OH}, ${OW}, ${COUT});
  int out_channel = y.w;
  float acc = ${BIAS_INIT};
  for (int ky = 0; ky < ${KH}; ++ky) {
    int in_row = y.y * ${SH} + ky - ${PAD_TOP};
    // Padding cells are zero: skipping them adds nothing.
    if (in_row < 0 || in_row >= ${H}) continue;
    for (int kx = 0; kx < ${KW}; ++kx) {
      int in_col = y.z * ${SW} + kx - ${PAD_LEFT};
      if (in_col < 0 || in_col >= ${W}) continue;
      for (int ci = 0; ci < ${CIN}; ++ci) {
        acc += x_at(y.x, in_row, in_col, ci) * kernel_at(ky, kx, ci, out_channel);
      }
    }
  }
  write_output(activate(acc));
}
