// dense_backward_kernel: dkernel (${K}, ${UNITS}) = x^T (${K}, ${ROWS}) @ dz (${ROWS}, ${UNITS});
// dz = dy * f'(y). x comes transposed (xt, four rows per texel, from
// dense_transpose_input), so one fragment (input k, units 4*u4 .. 4*u4+3) does 16
// multiply-adds per 5 fetches: four rows of input k times four units.
${HELPERS}

void main() {
  if (out_texel_index() >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  ivec2 o = out_coords();  // (k, u4)
  vec4 acc = vec4(0.0);
  for (int r4 = 0; r4 < ${ROWS_FULL4}; ++r4) {
    vec4 xs = xt_at(o.x, r4);
    int r = 4 * r4;
    acc += xs.x * dz_at(r, o.y) + xs.y * dz_at(r + 1, o.y)
         + xs.z * dz_at(r + 2, o.y) + xs.w * dz_at(r + 3, o.y);
  }
${ROWS_TAIL}
  write_output(acc * lane_mask(4 * o.y, ${UNITS}));
}
