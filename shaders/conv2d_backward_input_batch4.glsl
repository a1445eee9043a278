// conv2d_backward_input_batch4: dx (${N}, ${H}, ${W}, ${CIN}) from dz (${N}, ${OH}, ${OW}, ${COUT})
// and kernel (${KH}, ${KW}, ${CIN}, ${COUT}), strides (${SH}, ${SW}), pads top ${PAD_TOP}
// left ${PAD_LEFT}; dz = dy * f'(y). As conv2d_backward_input, four images per fragment
// into four targets (target j: image 4*g + j, g < ${GROUPS}; gather_groups4 interleaves
// them): each kernel texel fetched serves the four images. 4 input channels per fragment.
layout(location = 1) out vec4 shadernet_out1;
layout(location = 2) out vec4 shadernet_out2;
layout(location = 3) out vec4 shadernet_out3;
${HELPERS}

void main() {
  if (out_texel_index() >= ${OUT_TEXELS}) {
    shadernet_out = vec4(0.0); shadernet_out1 = vec4(0.0);
    shadernet_out2 = vec4(0.0); shadernet_out3 = vec4(0.0);
    return;
  }
  ivec4 o = out_coords();  // (g, iy, ix, ci4)
  int n0 = 4 * o.x;
  int n1 = min(n0 + 1, ${N} - 1), n2 = min(n0 + 2, ${N} - 1), n3 = min(n0 + 3, ${N} - 1);
  int ci = 4 * o.w;
  int c1 = min(ci + 1, ${CIN} - 1), c2 = min(ci + 2, ${CIN} - 1), c3 = min(ci + 3, ${CIN} - 1);
  int ay = o.y + ${PAD_TOP};
  int ax = o.z + ${PAD_LEFT};
  vec4 acc0 = vec4(0.0), acc1 = vec4(0.0), acc2 = vec4(0.0), acc3 = vec4(0.0);
  for (int ky = ay % ${SH}; ky < ${KH}; ky += ${SH}) {
    int oy = (ay - ky) / ${SH};
    if (oy < 0) break;
    if (oy >= ${OH}) continue;
    for (int kx = ax % ${SW}; kx < ${KW}; kx += ${SW}) {
      int ox = (ax - kx) / ${SW};
      if (ox < 0) break;
      if (ox >= ${OW}) continue;
      for (int co4 = 0; co4 < ${CO_FULL4}; ++co4) {
        vec4 q0 = kernel_at(ky, kx, ci, co4), q1 = kernel_at(ky, kx, c1, co4);
        vec4 q2 = kernel_at(ky, kx, c2, co4), q3 = kernel_at(ky, kx, c3, co4);
        vec4 g = dz_at(n0, oy, ox, co4);
        acc0 += vec4(dot(q0, g), dot(q1, g), dot(q2, g), dot(q3, g));
        g = dz_at(n1, oy, ox, co4);
        acc1 += vec4(dot(q0, g), dot(q1, g), dot(q2, g), dot(q3, g));
        g = dz_at(n2, oy, ox, co4);
        acc2 += vec4(dot(q0, g), dot(q1, g), dot(q2, g), dot(q3, g));
        g = dz_at(n3, oy, ox, co4);
        acc3 += vec4(dot(q0, g), dot(q1, g), dot(q2, g), dot(q3, g));
      }
${CO_TAIL}
    }
  }
  vec4 mask = lane_mask(ci, ${CIN});
  shadernet_out = acc0 * mask;
  shadernet_out1 = acc1 * mask;
  shadernet_out2 = acc2 * mask;
  shadernet_out3 = acc3 * mask;
}
