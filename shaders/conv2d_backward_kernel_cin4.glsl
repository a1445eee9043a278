// conv2d_backward_kernel_cin4: dkernel (${KH}, ${KW}, ${CIN}, ${COUT}) = sum over n, oy, ox of
// x (${N}, ${H}, ${W}, ${CIN})[n, oy*SH + ky - PAD_TOP, ox*SW + kx - PAD_LEFT, ci] *
// dz (${N}, ${OH}, ${OW}, ${COUT})[n, oy, ox, :], strides (${SH}, ${SW}), pads top
// ${PAD_TOP} left ${PAD_LEFT}; dz = dy * f'(y). As conv2d_backward_kernel, but four input
// channels per fragment into four targets (target j: channel 4*ci4 + j; gather_groups4
// interleaves them): one x texel and one dz texel per 16 multiply-adds instead of 4.
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
  ivec4 o = out_coords();  // (ky, kx, ci4, co4)
  // Output rows/cols whose input cell lies inside x (the rest read padding zeros).
  int oy_lo = max(0, (${PAD_TOP} - o.x + ${SH} - 1) / ${SH});
  int last_y = ${H} - 1 + ${PAD_TOP} - o.x;  // iy <= H - 1; negative: no row fits
  int oy_hi = last_y < 0 ? 0 : min(${OH}, last_y / ${SH} + 1);
  int ox_lo = max(0, (${PAD_LEFT} - o.y + ${SW} - 1) / ${SW});
  int last_x = ${W} - 1 + ${PAD_LEFT} - o.y;
  int ox_hi = last_x < 0 ? 0 : min(${OW}, last_x / ${SW} + 1);
  vec4 acc0 = vec4(0.0), acc1 = vec4(0.0), acc2 = vec4(0.0), acc3 = vec4(0.0);
  for (int n = 0; n < ${N}; ++n) {
    for (int oy = oy_lo; oy < oy_hi; ++oy) {
      int iy = oy * ${SH} + o.x - ${PAD_TOP};
      for (int ox = ox_lo; ox < ox_hi; ++ox) {
        int ix = ox * ${SW} + o.y - ${PAD_LEFT};
        vec4 xs = x_at(n, iy, ix, o.z);
        vec4 g = dz_at(n, oy, ox, o.w);
        acc0 += xs.x * g;
        acc1 += xs.y * g;
        acc2 += xs.z * g;
        acc3 += xs.w * g;
      }
    }
  }
  vec4 mask = lane_mask(4 * o.w, ${COUT});
  shadernet_out = acc0 * mask;
  shadernet_out1 = acc1 * mask;
  shadernet_out2 = acc2 * mask;
  shadernet_out3 = acc3 * mask;
}
