// dropout_mask: inverted dropout's mask for one training step, ${OUT_TEXELS} texels of a
// tensor whose last axis has ${CHANNELS} values: element i (flat NHWC) is kept, as
// ${SCALE} = 1 / (1 - rate), when u(i) >= rate, else 0; u(i) in [0, 1) is a 24-bit
// integer hash of (seed, step, layer ${SALT}, i), so a step's mask is repeatable and
// no host work is done per element. hyper.z = step, hyper.w = seed (per-step uniforms).
// Padding lanes are 0.
${HELPERS}

uint mix_bits(uint x) {
  // A 32-bit integer finaliser (two multiply-xorshift rounds): every input bit moves
  // every output bit, so neighbouring elements and steps get unrelated draws.
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

float keep_value(uint stream, int element, int lane_in_axis) {
  if (lane_in_axis >= ${CHANNELS}) return 0.0;
  float u = float(mix_bits(stream ^ uint(element)) >> 8u) * 5.9604644775390625e-08;
  return u >= ${RATE} ? ${SCALE} : 0.0;
}

void main() {
  int t = out_texel_index();
  if (t >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  vec4 hyper = hyper_fetch(ivec2(0, 0));
  uint stream = mix_bits(mix_bits(uint(hyper.w) + ${SALT}u * 0x9e3779b9u) ^ uint(hyper.z));
  int row = t / ${C4};
  int lane = (t - row * ${C4}) * 4;
  int first = row * ${CHANNELS} + lane;
  write_output(vec4(keep_value(stream, first, lane), keep_value(stream, first + 1, lane + 1),
                    keep_value(stream, first + 2, lane + 2),
                    keep_value(stream, first + 3, lane + 3)));
}
