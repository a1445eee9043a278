// softmax_cross_entropy_backward: dlogits (${ROWS}, ${CLASSES}) = (softmax(logits) - onehot(labels))
// / ${ROWS}, straight from the logits (a loss on clipped probabilities has no gradient
// for a sample the model is sure is something else). labels (${ROWS},) hold class
// indices as floats. Each fragment recomputes its row's max and sum (few classes).
${HELPERS}

void main() {
  int t = out_texel_index();
  if (t >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  int row = t / ${C4};
  int c4 = t - row * ${C4};
  float largest = row_max(row);
  float total = row_exp_sum(row, largest);
  vec4 probs = exp(logits_at(row, c4) - largest) / total;
  int label = int(labels_at(row / 4)[row % 4] + 0.5);
  vec4 onehot = vec4(equal(ivec4(4 * c4) + ivec4(0, 1, 2, 3), ivec4(label)));
  write_output((probs - onehot) / ${ROWS_FLOAT} * lane_mask(4 * c4, ${CLASSES}));
}
