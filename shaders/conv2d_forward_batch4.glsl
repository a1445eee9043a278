// conv2d_forward_batch4: x (${N}, ${H}, ${W}, ${CIN}) * kernel (${KH}, ${KW}, ${CIN}, ${COUT})
// -> y (${N}, ${OH}, ${OW}, ${COUT}), strides (${SH}, ${SW}), pads top ${PAD_TOP} left ${PAD_LEFT},
// four images per fragment into four targets: target j holds image 4*g + j (g < ${GROUPS};
// images past the last are clamped, the gather drops them); gather_groups4 interleaves
// them back. Each kernel texel fetched serves the four images (the kernel is most of the
// fetches with one image per fragment); each image's sum is conv2d_forward's, term for term.
layout(location = 1) out vec4 shadernet_out1;
layout(location = 2) out vec4 shadernet_out2;
layout(location = 3) out vec4 shadernet_out3;
${ACTIVATION}

void main() {
  if (out_texel_index() >= ${OUT_TEXELS}) {
    shadernet_out = vec4(0.0); shadernet_out1 = vec4(0.0);
    shadernet_out2 = vec4(0.0); shadernet_out3 = vec4(0.0);
    return;
  }
  ivec4 y = out_coords();  // (g, oy, ox, co4)
  int co4 = y.w;
  int n0 = 4 * y.x;
  int n1 = min(n0 + 1, ${N} - 1), n2 = min(n0 + 2, ${N} - 1), n3 = min(n0 + 3, ${N} - 1);
  vec4 acc0 = ${BIAS_INIT};
  vec4 acc1 = acc0, acc2 = acc0, acc3 = acc0;
  for (int ky = 0; ky < ${KH}; ++ky) {
    int in_row = y.y * ${SH} + ky - ${PAD_TOP};
    // Padding cells are zero: skipping them adds nothing.
    if (in_row < 0 || in_row >= ${H}) continue;
    for (int kx = 0; kx < ${KW}; ++kx) {
      int in_col = y.z * ${SW} + kx - ${PAD_LEFT};
      if (in_col < 0 || in_col >= ${W}) continue;
      for (int c4 = 0; c4 < ${CIN_FULL4}; ++c4) {
        int ci = 4 * c4;
        vec4 w0 = kernel_at(ky, kx, ci, co4), w1 = kernel_at(ky, kx, ci + 1, co4);
        vec4 w2 = kernel_at(ky, kx, ci + 2, co4), w3 = kernel_at(ky, kx, ci + 3, co4);
        vec4 xs = x_at(n0, in_row, in_col, c4);
        acc0 += xs.x * w0 + xs.y * w1 + xs.z * w2 + xs.w * w3;
        xs = x_at(n1, in_row, in_col, c4);
        acc1 += xs.x * w0 + xs.y * w1 + xs.z * w2 + xs.w * w3;
        xs = x_at(n2, in_row, in_col, c4);
        acc2 += xs.x * w0 + xs.y * w1 + xs.z * w2 + xs.w * w3;
        xs = x_at(n3, in_row, in_col, c4);
        acc3 += xs.x * w0 + xs.y * w1 + xs.z * w2 + xs.w * w3;
      }
${CIN_TAIL}
    }
  }
  shadernet_out = activate(acc0);
  shadernet_out1 = activate(acc1);
  shadernet_out2 = activate(acc2);
  shadernet_out3 = activate(acc3);
}
