// ${OP}: elementwise over ${OUT_TEXELS} texels.
${ACTIVATION}

void main() {
  int t = out_texel_index();
  if (t >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  write_output(activate(${X_VALUE}));
}
