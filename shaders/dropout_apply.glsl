// dropout_apply: y = x * mask elementwise over ${OUT_TEXELS} texels: inverted dropout's
// forward (x the layer's input) and its backward (x = dy), with the step's mask.
${HELPERS}

void main() {
  int t = out_texel_index();
  if (t >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  write_output(${X_VALUE} * ${MASK_VALUE});
}
