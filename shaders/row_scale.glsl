// ${OP}: y[i, :] = x[i, :] * scale[i] for the ${ROWS} rows of x (${ROWS}, ${C}).

void main() {
  if (out_texel_index() >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  ivec2 o = out_coords();
  write_output(x_at(o.x, o.y) * scale_at(o.x / 4)[o.x % 4]);
}
