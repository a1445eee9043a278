// conv2d_backward_kernel_kx4: dkernel (${KH}, ${KW}, 1, ${COUT}) of a one-channel input x
// (${N}, ${H}, ${W}, 1) and dz (${N}, ${OH}, ${OW}, ${COUT}), strides (${SH}, ${SW}), pads top
// ${PAD_TOP} left ${PAD_LEFT}; dz = dy * f'(y). Four kernel columns per fragment into four
// targets (target j: column 4*g + j, g < ${GROUPS}; gather_groups4 interleaves them): each
// dz texel fetched serves four columns (an x texel holds one real value here). A column's
// cells outside x (padding) add exact zeros, so each value is conv2d_backward_kernel's
// sum, term for term.
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
  ivec4 o = out_coords();  // (ky, g, 0, co4)
  int kx0 = 4 * o.y;
  // Output rows whose input row lies inside x; the columns of all four kernel columns.
  int oy_lo = max(0, (${PAD_TOP} - o.x + ${SH} - 1) / ${SH});
  int last_y = ${H} - 1 + ${PAD_TOP} - o.x;
  int oy_hi = last_y < 0 ? 0 : min(${OH}, last_y / ${SH} + 1);
  vec4 acc0 = vec4(0.0), acc1 = vec4(0.0), acc2 = vec4(0.0), acc3 = vec4(0.0);
  for (int n = 0; n < ${N}; ++n) {
    for (int oy = oy_lo; oy < oy_hi; ++oy) {
      int iy = oy * ${SH} + o.x - ${PAD_TOP};
      for (int ox = 0; ox < ${OW}; ++ox) {
        int ix = ox * ${SW} + kx0 - ${PAD_LEFT};
        vec4 g = dz_at(n, oy, ox, o.w);
        acc0 += cell(n, iy, ix) * g;
        acc1 += cell(n, iy, ix + 1) * g;
        acc2 += cell(n, iy, ix + 2) * g;
        acc3 += cell(n, iy, ix + 3) * g;
      }
    }
  }
  vec4 mask = lane_mask(4 * o.w, ${COUT});
  shadernet_out = acc0 * mask;
  shadernet_out1 = acc1 * mask;
  shadernet_out2 = acc2 * mask;
  shadernet_out3 = acc3 * mask;
}
