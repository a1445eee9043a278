// adam_update: Keras's Adam (bias correction folded into the step size alpha, epsilon
// added to sqrt(v)), term for term as model_export.nn.optimizers.adam_update:
//   m += (grad - m) * (1 - beta_1); v += (grad^2 - v) * (1 - beta_2)
//   param -= m * alpha / (sqrt(v) + epsilon),  grad += 2 * l2 * param (weight decay).
// hyper.y = alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t), computed on the host in
// float64 each step. Elementwise over ${OUT_TEXELS} texels, inputs in the output's layout;
// one draw writes the new param (location 0), m (1) and v (2) into their twins.
layout(location = 1) out vec4 shadernet_out1;
layout(location = 2) out vec4 shadernet_out2;
${HELPERS}

void main() {
  ivec2 p = ivec2(gl_FragCoord.xy);
  vec4 w = param_fetch(p);
  vec4 g = grad_fetch(p)${DECAY};
  vec4 m_old = m_fetch(p);
  vec4 m_new = m_old + (g - m_old) * ${ONE_MINUS_BETA_1};
  vec4 v_old = v_fetch(p);
  vec4 v_new = v_old + (g * g - v_old) * ${ONE_MINUS_BETA_2};
  float alpha = hyper_fetch(ivec2(0, 0)).y;
  shadernet_out = w - (m_new * alpha) / (sqrt(v_new) + ${EPSILON});
  shadernet_out1 = m_new;
  shadernet_out2 = v_new;
}
