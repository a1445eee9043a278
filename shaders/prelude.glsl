#version 300 es
// shadernet prelude: shared by every generated fragment shader.
// Tensors are R32F textures holding one float per texel, laid out flat in NHWC
// row-major order: flat index i lives at texel (i mod width, i div width).
precision highp float;
precision highp int;
precision highp sampler2D;

out vec4 shadernet_out;

// Flat index of the output element this fragment writes.
int output_index(int texture_width) {
  ivec2 texel = ivec2(gl_FragCoord.xy);
  return texel.y * texture_width + texel.x;
}

// Element i of a flat tensor stored in a texture `texture_width` texels wide.
float fetch_flat(sampler2D tensor, int texture_width, int i) {
  return texelFetch(tensor, ivec2(i % texture_width, i / texture_width), 0).r;
}

// Logical NHWC coordinates (n, h, w, c) of flat index i in a (_, h, w, c) tensor.
ivec4 nhwc_coords(int i, int height, int width, int channels) {
  int c = i % channels;
  int pixel = i / channels;
  int x = pixel % width;
  int row = pixel / width;
  return ivec4(row / height, row % height, x, c);
}

void write_output(float value) {
  shadernet_out = vec4(value, 0.0, 0.0, 1.0);
}
