// zero_padding2d_forward: x (${N}, ${H}, ${W}, ${C}) -> y (${N}, ${OH}, ${OW}, ${C}),
// ${TOP} rows of zeros on top, ${LEFT} columns on the left (the rest below and right).

void main() {
  if (out_texel_index() >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  ivec4 y = out_coords();
  int row = y.y - ${TOP};
  int col = y.z - ${LEFT};
  if (row < 0 || row >= ${H} || col < 0 || col >= ${W}) { write_output(vec4(0.0)); return; }
  write_output(x_at(y.x, row, col, y.w));
}
