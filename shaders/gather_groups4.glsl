// gather_groups4: y ${Y_SHAPE} from the four targets of a program that computes four
// entries of axis ${AXIS} per fragment: entry i of that axis is entry i / 4 of part i % 4.
// One fetch per texel.
${HELPERS}

void main() {
  if (out_texel_index() >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  ivec4 o = out_coords();
  int g = o[${AXIS}] / 4;
  int j = o[${AXIS}] - 4 * g;
  vec4 v = j == 0 ? part0_at(${ARGS}) : j == 1 ? part1_at(${ARGS})
         : j == 2 ? part2_at(${ARGS}) : part3_at(${ARGS});
  write_output(${RESULT});
}
