// softmax over the last axis: ${UNITS} values (${U4} texels) per row, max-subtracted so
// exp never overflows. Each fragment recomputes its row's maximum and sum.
${ROW_LOGITS}

void main() {
  int t = out_texel_index();
  if (t >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  int row = t / ${U4};
  int u4 = t - row * ${U4};
  vec4 logits[${U4}];
  for (int g = 0; g < ${U4}; ++g) {
    logits[g] = row_logits(row, g);
  }
  float largest = -3.402823466e+38;
  for (int g = 0; g < ${U_FULL4}; ++g) {
    vec4 l = logits[g];
    largest = max(largest, max(max(l.x, l.y), max(l.z, l.w)));
  }
${MAX_TAIL}
  float total = 0.0;
  for (int g = 0; g < ${U_FULL4}; ++g) {
    total += dot(exp(logits[g] - largest), vec4(1.0));
  }
${SUM_TAIL}
  write_output(exp(logits[u4] - largest) / total);
}
