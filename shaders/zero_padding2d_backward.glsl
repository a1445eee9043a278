// zero_padding2d_backward: dx (${N}, ${H}, ${W}, ${C}) = the cells of dy (${N}, ${OH}, ${OW},
// ${C}) that came from x: rows from ${TOP}, columns from ${LEFT}.

void main() {
  if (out_texel_index() >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  ivec4 o = out_coords();
  write_output(dy_at(o.x, o.y + ${TOP}, o.z + ${LEFT}, o.w));
}
