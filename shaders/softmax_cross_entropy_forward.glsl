// softmax_cross_entropy_forward: loss = mean over ${ROWS} rows of -log softmax(logits)[label]
// = -(shifted[label] - log(sum(exp(shifted)))), shifted = logits - row max (log-sum-exp,
// finite for any logits). One fragment; the loss is lane x of the single output texel.
${HELPERS}

void main() {
  float total_loss = 0.0;
  for (int row = 0; row < ${ROWS}; ++row) {
    float largest = row_max(row);
    float total = row_exp_sum(row, largest);
    int label = int(labels_at(row / 4)[row % 4] + 0.5);
    float picked = logits_at(row, label / 4)[label % 4] - largest;
    total_loss += picked - log(total);
  }
  write_output(vec4(-total_loss / ${ROWS_FLOAT}, 0.0, 0.0, 0.0));
}
