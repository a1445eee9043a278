// dense_backward_kernel_rows4: dkernel (${K}, ${UNITS}) = x^T (${K}, ${ROWS}) @ dz (${ROWS}, ${UNITS});
// dz = dy * f'(y). Four inputs per fragment into four targets: target j holds input
// 4*g + j (g < ${GROUPS}; dense_gather_rows4 interleaves them). x is read by row: one x
// texel holds inputs 4g .. 4g+3 of a row, so each x and dz texel fetched serves 16
// multiply-adds (no transposed copy of x). Each value is dense_backward_kernel's sum, term
// for term.
layout(location = 1) out vec4 shadernet_out1;
layout(location = 2) out vec4 shadernet_out2;
layout(location = 3) out vec4 shadernet_out3;
${HELPERS}

void main() {
  if (out_texel_index() >= ${OUT_TEXELS}) {
    shadernet_out = vec4(0.0); shadernet_out1 = vec4(0.0);
    shadernet_out2 = vec4(0.0); shadernet_out3 = vec4(0.0);
    return;
  }
  ivec2 o = out_coords();  // (g, u4)
  ivec2 p = ivec2(o.x % ${X_WIDTH}, o.x / ${X_WIDTH});  // x's texel (row 0, inputs 4g..)
  vec4 acc0 = vec4(0.0), acc1 = vec4(0.0), acc2 = vec4(0.0), acc3 = vec4(0.0);
  for (int r4 = 0; r4 < ${ROWS_FULL4}; ++r4) {
    int r = 4 * r4;
    vec4 x0 = x_fetch(p);
${ADVANCE}
    vec4 x1 = x_fetch(p);
${ADVANCE}
    vec4 x2 = x_fetch(p);
${ADVANCE}
    vec4 x3 = x_fetch(p);
${ADVANCE}
    vec4 d0 = dz_at(r, o.y), d1 = dz_at(r + 1, o.y), d2 = dz_at(r + 2, o.y), d3 = dz_at(r + 3, o.y);
    acc0 += x0.x * d0 + x1.x * d1 + x2.x * d2 + x3.x * d3;
    acc1 += x0.y * d0 + x1.y * d1 + x2.y * d2 + x3.y * d3;
    acc2 += x0.z * d0 + x1.z * d1 + x2.z * d2 + x3.z * d3;
    acc3 += x0.w * d0 + x1.w * d1 + x2.w * d2 + x3.w * d3;
  }
${ROWS_TAIL}
  vec4 mask = lane_mask(4 * o.y, ${UNITS});
  shadernet_out = acc0 * mask;
  shadernet_out1 = acc1 * mask;
  shadernet_out2 = acc2 * mask;
  shadernet_out3 = acc3 * mask;
}
