// dense_backward_kernel: dkernel (${K}, ${UNITS}) = x^T (${K}, ${ROWS}) @ dz (${ROWS}, ${UNITS});
// dz = dy * f'(y). One input index and 4 units per fragment; x is read by flat texel
// (it may be a view of an NHWC tensor).
${HELPERS}

void main() {
  if (out_texel_index() >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  ivec2 o = out_coords();
  int k4 = o.x / 4;
  int lane = o.x - 4 * k4;
  vec4 acc = vec4(0.0);
  for (int row = 0; row < ${ROWS}; ++row) {
    acc += ${X_FETCH}[lane] * dz_at(row, o.y);
  }
  write_output(acc * lane_mask(4 * o.y, ${UNITS}));
}
