// ${OP}: elementwise over ${SIZE} floats.
${ACTIVATION}

void main() {
  int i = output_index(${OUT_WIDTH});
  if (i >= ${SIZE}) { write_output(0.0); return; }
  write_output(activate(get_x(i)));
}
