// ${OP}: dx = dy * f'(y), elementwise over ${OUT_TEXELS} texels (y is the activated
// output; every activation here has its derivative as a function of y alone).
${HELPERS}

void main() {
  int t = out_texel_index();
  if (t >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  vec4 dx = activation_grad(${DY_VALUE}, ${Y_VALUE});
${TAIL_MASK}
  write_output(dx);
}
