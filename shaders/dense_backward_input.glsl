// dense_backward_input: dx (${ROWS}, ${K}) = dz (${ROWS}, ${UNITS}) @ kernel^T,
// kernel (${K}, ${UNITS}); dz = dy * f'(y) (see dz_at). 4 inputs of one row per fragment.
${HELPERS}

void main() {
  int t = out_texel_index();
  if (t >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  int row = t / ${K4};
  int k = 4 * (t - row * ${K4});
  // Rows past K (the last texel of a row when K % 4 != 0) are clamped, then masked.
  int k1 = min(k + 1, ${K} - 1), k2 = min(k + 2, ${K} - 1), k3 = min(k + 3, ${K} - 1);
  vec4 acc = vec4(0.0);
  for (int u4 = 0; u4 < ${U_FULL4}; ++u4) {
    vec4 g = dz_at(row, u4);
    acc += vec4(dot(kernel_at(k, u4), g), dot(kernel_at(k1, u4), g),
                dot(kernel_at(k2, u4), g), dot(kernel_at(k3, u4), g));
  }
${U_TAIL}
  write_output(acc * lane_mask(k, ${K}));
}
