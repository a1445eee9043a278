// gather_images: the batch's images from a data set kept on the GPU as uint8 (an RGBA8
// texture, four pixels per texel, sampled as value / 255): sample i of the output is row
// rows[i] of data (${ROW_TEXELS} texels a row), written in the output's layout, whose
// last axis holds ${CHANNELS} values (${SAMPLE_TEXELS} texels a sample).
${HELPERS}

float row_of(int sample_index) {
  vec4 r = rows_at(sample_index / 4);
  return r[sample_index % 4];
}

void main() {
  int t = out_texel_index();
  if (t >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  int sample_index = t / ${SAMPLE_TEXELS};
  int within = t - sample_index * ${SAMPLE_TEXELS};
  int source = int(row_of(sample_index)) * ${ROW_TEXELS};
${BODY}
}
