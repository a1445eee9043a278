// ${OP}: dx = dy * f'(x), elementwise over ${OUT_TEXELS} texels (x is the layer's input:
// a ReLU with a threshold or a cap is not invertible from y).
vec4 activation_grad(vec4 dy, vec4 x) { ${GRAD} }

void main() {
  int t = out_texel_index();
  if (t >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  vec4 dx = activation_grad(${DY_VALUE}, ${X_VALUE});
${TAIL_MASK}
  write_output(dx);
}
