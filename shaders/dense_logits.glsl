// x (${ROWS}, ${K}) @ kernel (${K}, ${UNITS}) + bias for units 4*u4 .. 4*u4+3 of row `row`.
vec4 dense_logits(int row, int u4) {
  vec4 acc = ${BIAS_INIT};
  // x's row is contiguous in the flat texel order: walk its texels, wrapping at the
  // texture width, instead of dividing for every fetch.
  // When no row of x straddles two texture rows, the step below has no wrap test.
  int start = row * ${K4};
  ivec2 texel = ivec2(start % ${X_WIDTH}, start / ${X_WIDTH});
  for (int k4 = 0; k4 < ${K_FULL4}; ++k4) {
    vec4 xs = x_fetch(texel);
    int k = 4 * k4;
    // 16 multiply-adds for 5 fetches: 4 inputs times 4 units.
    acc += xs.x * kernel_at(k, u4) + xs.y * kernel_at(k + 1, u4)
         + xs.z * kernel_at(k + 2, u4) + xs.w * kernel_at(k + 3, u4);
${ADVANCE}
  }
${K_TAIL}
  return acc;
}
