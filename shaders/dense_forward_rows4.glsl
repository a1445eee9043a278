// dense_forward_rows4: y (${ROWS}, ${UNITS}) = activation(x (${ROWS}, ${K}) @ kernel + bias),
// four rows per fragment into four render targets: target j holds rows 4*g + j
// (g < ${GROUPS}); dense_gather_rows4 interleaves them back. Each kernel texel fetched
// serves the four rows: 64 multiply-adds per 8 fetches (16 per 5 with one row).
layout(location = 1) out vec4 shadernet_out1;
layout(location = 2) out vec4 shadernet_out2;
layout(location = 3) out vec4 shadernet_out3;
${ACTIVATION}

// Texel of x where row `row` starts (rows past the last are clamped; the gather drops them).
ivec2 row_start(int row) {
  int start = min(row, ${ROWS} - 1) * ${K4};
  return ivec2(start % ${X_WIDTH}, start / ${X_WIDTH});
}

void main() {
  int t = out_texel_index();
  if (t >= ${OUT_TEXELS}) {
    shadernet_out = vec4(0.0); shadernet_out1 = vec4(0.0);
    shadernet_out2 = vec4(0.0); shadernet_out3 = vec4(0.0);
    return;
  }
  ivec2 o = out_coords();  // (g, u4)
  int u4 = o.y;
  vec4 acc0 = ${BIAS_INIT};
  vec4 acc1 = acc0, acc2 = acc0, acc3 = acc0;
  ivec2 t0 = row_start(4 * o.x), t1 = row_start(4 * o.x + 1);
  ivec2 t2 = row_start(4 * o.x + 2), t3 = row_start(4 * o.x + 3);
  for (int k4 = 0; k4 < ${K_FULL4}; ++k4) {
    int k = 4 * k4;
    vec4 w0 = kernel_at(k, u4), w1 = kernel_at(k + 1, u4);
    vec4 w2 = kernel_at(k + 2, u4), w3 = kernel_at(k + 3, u4);
    vec4 xs = x_fetch(t0);
    acc0 += xs.x * w0 + xs.y * w1 + xs.z * w2 + xs.w * w3;
    xs = x_fetch(t1);
    acc1 += xs.x * w0 + xs.y * w1 + xs.z * w2 + xs.w * w3;
    xs = x_fetch(t2);
    acc2 += xs.x * w0 + xs.y * w1 + xs.z * w2 + xs.w * w3;
    xs = x_fetch(t3);
    acc3 += xs.x * w0 + xs.y * w1 + xs.z * w2 + xs.w * w3;
${ADVANCE}
  }
${K_TAIL}
  shadernet_out = activate(acc0);
  shadernet_out1 = activate(acc1);
  shadernet_out2 = activate(acc2);
  shadernet_out3 = activate(acc3);
}
