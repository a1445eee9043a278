// dense_transpose_input: xt (${K}, ${ROWS}) = x (${ROWS}, ${K})^T with the rows packed four
// per texel, so dense_backward_kernel reads four rows of one input in one fetch. x is read
// by flat texel (it may be a view of an NHWC tensor); rows past ${ROWS} are zero.

void main() {
  if (out_texel_index() >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  ivec2 o = out_coords();  // (k, r4)
  int k4 = o.x / 4;
  vec4 pick = vec4(equal(ivec4(o.x - 4 * k4), ivec4(0, 1, 2, 3)));
  int row = 4 * o.y;
  vec4 v = vec4(0.0);
  for (int j = 0; j < 4; ++j) {
    if (row + j < ${ROWS}) v[j] = dot(${X_FETCH}, pick);
  }
  write_output(v);
}
