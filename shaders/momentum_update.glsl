// momentum_update: velocity = momentum * velocity - lr * grad; param += velocity;
// grad += 2 * l2 * param. Elementwise over ${OUT_TEXELS} texels; every input has the
// output's layout; one draw writes the new param (location 0) and velocity (1) into
// their twins. hyper.x = learning rate. Source: Keras sgd.py (momentum > 0,
// nesterov=False).
layout(location = 1) out vec4 shadernet_out1;
${HELPERS}

void main() {
  ivec2 p = ivec2(gl_FragCoord.xy);
  vec4 w = param_fetch(p);
  vec4 g = grad_fetch(p)${DECAY};
  float lr = hyper_fetch(ivec2(0, 0)).x;
  vec4 v_new = ${MOMENTUM} * velocity_fetch(p);
  v_new -= lr * g;
  shadernet_out = w + v_new;
  shadernet_out1 = v_new;
}
