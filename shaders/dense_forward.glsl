// dense_forward: y (${ROWS}, ${UNITS}) = activation(x (${ROWS}, ${K}) @ kernel (${K}, ${UNITS}) + bias).
${ACTIVATION}
${DENSE_LOGITS}

void main() {
  int t = out_texel_index();
  if (t >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  int row = t / ${U4};
  write_output(activate(dense_logits(row, t - row * ${U4})));
}
