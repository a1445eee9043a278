// conv2d_backward_input: dx (${N}, ${H}, ${W}, ${CIN}) from dz (${N}, ${OH}, ${OW}, ${COUT})
// and kernel (${KH}, ${KW}, ${CIN}, ${COUT}), strides (${SH}, ${SW}), pads top ${PAD_TOP}
// left ${PAD_LEFT}; dz = dy * f'(y). Input pixel (iy, ix) fed output (oy, ox) through
// kernel cell (ky, kx) when oy * SH + ky - PAD_TOP == iy: only ky of the right stride
// phase are visited. 4 input channels per fragment.
${HELPERS}

void main() {
  if (out_texel_index() >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  ivec4 o = out_coords();
  int ci = 4 * o.w;
  int c1 = min(ci + 1, ${CIN} - 1), c2 = min(ci + 2, ${CIN} - 1), c3 = min(ci + 3, ${CIN} - 1);
  int ay = o.y + ${PAD_TOP};
  int ax = o.z + ${PAD_LEFT};
  vec4 acc = vec4(0.0);
  for (int ky = ay % ${SH}; ky < ${KH}; ky += ${SH}) {
    int oy = (ay - ky) / ${SH};
    if (oy < 0) break;
    if (oy >= ${OH}) continue;
    for (int kx = ax % ${SW}; kx < ${KW}; kx += ${SW}) {
      int ox = (ax - kx) / ${SW};
      if (ox < 0) break;
      if (ox >= ${OW}) continue;
      for (int co4 = 0; co4 < ${CO_FULL4}; ++co4) {
        vec4 g = dz_at(o.x, oy, ox, co4);
        acc += vec4(dot(kernel_at(ky, kx, ci, co4), g), dot(kernel_at(ky, kx, c1, co4), g),
                    dot(kernel_at(ky, kx, c2, co4), g), dot(kernel_at(ky, kx, c3, co4), g));
      }
${CO_TAIL}
    }
  }
  write_output(acc * lane_mask(ci, ${CIN}));
}
