// dense_backward_input_rows4: dx (${ROWS}, ${K}) = dz (${ROWS}, ${UNITS}) @ kernel^T,
// kernel (${K}, ${UNITS}); dz = dy * f'(y) (see dz_at). Four rows per fragment into four
// targets (target j: row 4*g + j, g < ${GROUPS}; rows past the last are clamped, the
// gather drops them): each kernel texel fetched serves the four rows. Each value is
// dense_backward_input's sum, term for term. 4 inputs of a row per target texel.
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
  ivec2 o = out_coords();  // (g, k4)
  int r0 = 4 * o.x;
  int r1 = min(r0 + 1, ${ROWS} - 1), r2 = min(r0 + 2, ${ROWS} - 1), r3 = min(r0 + 3, ${ROWS} - 1);
  int k = 4 * o.y;
  // Rows past K (the last texel of a row when K % 4 != 0) are clamped, then masked.
  int k1 = min(k + 1, ${K} - 1), k2 = min(k + 2, ${K} - 1), k3 = min(k + 3, ${K} - 1);
  vec4 acc0 = vec4(0.0), acc1 = vec4(0.0), acc2 = vec4(0.0), acc3 = vec4(0.0);
  for (int u4 = 0; u4 < ${U_FULL4}; ++u4) {
    vec4 q0 = kernel_at(k, u4), q1 = kernel_at(k1, u4);
    vec4 q2 = kernel_at(k2, u4), q3 = kernel_at(k3, u4);
    vec4 g = dz_at(r0, u4);
    acc0 += vec4(dot(q0, g), dot(q1, g), dot(q2, g), dot(q3, g));
    g = dz_at(r1, u4);
    acc1 += vec4(dot(q0, g), dot(q1, g), dot(q2, g), dot(q3, g));
    g = dz_at(r2, u4);
    acc2 += vec4(dot(q0, g), dot(q1, g), dot(q2, g), dot(q3, g));
    g = dz_at(r3, u4);
    acc3 += vec4(dot(q0, g), dot(q1, g), dot(q2, g), dot(q3, g));
  }
${U_TAIL}
  vec4 mask = lane_mask(k, ${K});
  shadernet_out = acc0 * mask;
  shadernet_out1 = acc1 * mask;
  shadernet_out2 = acc2 * mask;
  shadernet_out3 = acc3 * mask;
}
