// ${OP}: dx (${N}, ${H}, ${W}, ${C}) from dy (${N}, ${C}) of a global ${MODE} pooling.
${HELPERS}

void main() {
  if (out_texel_index() >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  ivec4 o = out_coords();
  vec4 g = dy_at(o.x, o.w);
${BODY}
}
