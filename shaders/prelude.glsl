#version 300 es
// shadernet prelude: shared by every generated fragment shader.
// Tensors are RGBA32F textures: the last axis is packed four values per texel and the
// texels are laid out flat in NHWC row-major order, texel t at (t mod width, t div width).
// Each fragment writes one texel: four consecutive values of the output's last axis.
precision highp float;
precision highp int;
precision highp sampler2D;

layout(location = 0) out vec4 shadernet_out;

void write_output(vec4 value) {
  shadernet_out = value;
}
