// ${OP}: the bias (${C},) of a layer with the BatchNormalization after it folded in.

void main() {
  int c4 = out_texel_index();
  if (c4 >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  write_output(bias_at(c4) * scale_at(c4) + shift_at(c4));
}
