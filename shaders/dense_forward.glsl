// dense_forward: y (${ROWS}, ${UNITS}) = activation(x (${ROWS}, ${K}) @ kernel (${K}, ${UNITS}) + bias).
${ACTIVATION}

// One output of the matmul before the activation: row `row`, column `col`.
float dense_logit(int row, int col) {
  float acc = ${BIAS_INIT};
  // x's row is contiguous in the flat layout: walk its texels, wrapping at the texture
  // width, instead of dividing for every element.
  int start = row * ${K};
  ivec2 texel = ivec2(start % ${X_WIDTH}, start / ${X_WIDTH});
  for (int k = 0; k < ${K}; ++k) {
    acc += texelFetch(x, texel, 0).r * kernel_at(k, col);
    texel.x += 1;
    if (texel.x == ${X_WIDTH}) {
      texel.x = 0;
      texel.y += 1;
    }
  }
  return acc;
}

void main() {
  int i = output_index(${OUT_WIDTH});
  if (i >= ${SIZE}) { write_output(0.0); return; }
  int row = i / ${UNITS};
  int col = i - row * ${UNITS};
  write_output(activate(dense_logit(row, col)));
}
