// conv2d_backward_kernel: dkernel (${KH}, ${KW}, ${CIN}, ${COUT}) = sum over n, oy, ox of
// x (${N}, ${H}, ${W}, ${CIN})[n, oy*SH + ky - PAD_TOP, ox*SW + kx - PAD_LEFT, ci] *
// dz (${N}, ${OH}, ${OW}, ${COUT})[n, oy, ox, :], strides (${SH}, ${SW}), pads top
// ${PAD_TOP} left ${PAD_LEFT}; dz = dy * f'(y). 4 output channels per fragment.
${HELPERS}

void main() {
  if (out_texel_index() >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  ivec4 o = out_coords();  // (ky, kx, ci, co4)
  int ci4 = o.z / 4;
  int lane = o.z - 4 * ci4;
  // Output rows/cols whose input cell lies inside x (the rest read padding zeros).
  int oy_lo = max(0, (${PAD_TOP} - o.x + ${SH} - 1) / ${SH});
  int last_y = ${H} - 1 + ${PAD_TOP} - o.x;  // iy <= H - 1; negative: no row fits
  int oy_hi = last_y < 0 ? 0 : min(${OH}, last_y / ${SH} + 1);
  int ox_lo = max(0, (${PAD_LEFT} - o.y + ${SW} - 1) / ${SW});
  int last_x = ${W} - 1 + ${PAD_LEFT} - o.y;
  int ox_hi = last_x < 0 ? 0 : min(${OW}, last_x / ${SW} + 1);
  vec4 acc = vec4(0.0);
  for (int n = 0; n < ${N}; ++n) {
    for (int oy = oy_lo; oy < oy_hi; ++oy) {
      int iy = oy * ${SH} + o.x - ${PAD_TOP};
      for (int ox = ox_lo; ox < ox_hi; ++ox) {
        int ix = ox * ${SW} + o.y - ${PAD_LEFT};
        acc += x_at(n, iy, ix, ci4)[lane] * dz_at(n, oy, ox, o.w);
      }
    }
  }
  write_output(acc * lane_mask(4 * o.w, ${COUT}));
}
