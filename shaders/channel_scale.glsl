// ${OP}: y = x * scale per channel of the last axis (${C}); 4 channels per fragment.
// scale is zero in the tail lanes, so the padded lanes stay 0.

void main() {
  if (out_texel_index() >= ${OUT_TEXELS}) { write_output(vec4(0.0)); return; }
  ${COORDS_TYPE} o = out_coords();
  write_output(x_at(${X_ARGS}) * scale_at(o.${C4_LANE}));
}
