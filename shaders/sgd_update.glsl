// sgd_update: param -= lr * grad, grad += 2 * l2 * param (weight decay, as the
// numpy L1L2 regularizer's gradient). Elementwise over ${OUT_TEXELS} texels; every input
// has the output's layout. hyper.x = learning rate (a texture, so no recompiling when
// it changes). Source: Keras sgd.py (momentum == 0).
${HELPERS}

void main() {
  ivec2 p = ivec2(gl_FragCoord.xy);
  vec4 w = param_fetch(p);
  vec4 g = grad_fetch(p)${DECAY};
  float lr = hyper_fetch(ivec2(0, 0)).x;
  write_output(w - lr * g);
}
