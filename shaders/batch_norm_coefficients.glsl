// ${OP}: BatchNormalization's per-channel ${WHAT} (${C},) with the moving statistics frozen:
// scale = gamma / sqrt(moving_variance + epsilon), shift = beta - moving_mean * scale.
${LANE_MASK}

void main() {
  int c4 = out_texel_index();
  if (c4 >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  vec4 scale = ${GAMMA} / sqrt(variance_at(c4) + ${EPSILON});
  write_output((${RESULT}) * lane_mask(4 * c4, ${C}));
}
