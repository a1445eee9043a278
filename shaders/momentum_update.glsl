// momentum_update (${TARGET}): velocity = momentum * velocity - lr * grad; param += velocity;
// grad += 2 * l2 * param. Elementwise over ${OUT_TEXELS} texels; every input has the
// output's layout; the program writing param recomputes the new velocity from the old
// one (same operations), so no program reads the texture it writes.
// hyper.x = learning rate. Source: Keras sgd.py (momentum > 0, nesterov=False).
${HELPERS}

void main() {
  ivec2 p = ivec2(gl_FragCoord.xy);
  vec4 w = param_fetch(p);
  vec4 g = grad_fetch(p)${DECAY};
  float lr = hyper_fetch(ivec2(0, 0)).x;
  vec4 v_new = ${MOMENTUM} * velocity_fetch(p);
  v_new -= lr * g;
  write_output(${RESULT});
}
