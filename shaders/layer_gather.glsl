// layer_gather: ${SOURCES} tensors copied texel for texel into one atlas of ${OUT_TEXELS}
// texels, one after another (source k's texel i lands at atlas texel start_k + i), so that
// one readback returns them all. Texels of regions drawn by another pass of the chain come
// from `previous`; the rest are zero.

void main() {
  int t = out_texel_index();
${REGIONS}
  write_output(${OUTSIDE});
}
