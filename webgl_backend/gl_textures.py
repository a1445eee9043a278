"""Textures and framebuffers of a GLContext: create, free, upload, read back.

`TextureStore` is the half of `GLContext` (context.py) that owns texture memory; it
uses the context's counting `gl`, its constants, its bound-state caches and staging
buffers, all set up by `GLContext.__init__`.
"""

from __future__ import annotations

from array import array

from webgl_backend.gl_objects import GpuTexture
from webgl_backend.host_data import js_list, uint8_array

# Staging Float32Arrays kept per size; predict reuses the same few sizes.
_MAX_STAGING_BUFFERS = 16


class TextureStore:
    def _bind_for_update(self, handle) -> None:
        """Bind `handle` to the active unit (recording it, so draws stay consistent)."""
        self._bindTexture(self.TEXTURE_2D, handle)
        self._unit_textures[self._active_unit] = handle

    def create_texture(self, width: int, height: int) -> GpuTexture:
        """An uninitialised width x height RGBA32F texture, sampled at texel centres only."""
        gl = self.gl
        handle = gl.createTexture()
        self._bind_for_update(handle)
        gl.texStorage2D(self.TEXTURE_2D, 1, self.RGBA32F, width, height)
        # Float32 is not filterable: any mipmap/linear min filter would make it incomplete.
        gl.texParameteri(self.TEXTURE_2D, self.TEXTURE_MIN_FILTER, self.NEAREST)
        gl.texParameteri(self.TEXTURE_2D, self.TEXTURE_MAG_FILTER, self.NEAREST)
        self.live_textures += 1
        return GpuTexture(handle, width, height, self.generation)

    def create_byte_texture(self, width: int, height: int, data: bytes) -> GpuTexture:
        """A width x height RGBA8 texture holding `data` (4 bytes a texel, zero-padded),
        sampled as value / 255: a data set uploaded once as its bytes."""
        size = 4 * width * height
        if len(data) > size:
            raise ValueError(f"create_byte_texture: {len(data)} bytes do not fit a {width}x"
                             f"{height} RGBA8 texture ({size} bytes)")
        gl = self.gl
        handle = gl.createTexture()
        self._bind_for_update(handle)
        gl.texStorage2D(self.TEXTURE_2D, 1, self.RGBA8, width, height)
        gl.texParameteri(self.TEXTURE_2D, self.TEXTURE_MIN_FILTER, self.NEAREST)
        gl.texParameteri(self.TEXTURE_2D, self.TEXTURE_MAG_FILTER, self.NEAREST)
        self.live_textures += 1
        padded = data if len(data) == size else data + bytes(size - len(data))
        self._texSubImage2D(self.TEXTURE_2D, 0, 0, 0, width, height, self.RGBA,
                            self.UNSIGNED_BYTE, uint8_array(gl, padded))
        return GpuTexture(handle, width, height, self.generation)

    def delete_texture(self, texture: GpuTexture) -> None:
        """Free the texture and its framebuffer; a second call does nothing."""
        if texture.handle is None:
            return
        if texture.generation == self.generation:
            gl = self.gl
            for framebuffer in (texture.framebuffer, texture.group_framebuffer):
                if framebuffer is None:
                    continue
                if self._bound_framebuffer is framebuffer:
                    self._bound_framebuffer = None
                gl.deleteFramebuffer(framebuffer)
                self.live_framebuffers -= 1
            for unit, bound in list(self._unit_textures.items()):
                if bound is texture.handle:
                    del self._unit_textures[unit]
            gl.deleteTexture(texture.handle)
            self.live_textures -= 1
        texture.handle = None
        texture.framebuffer = None
        texture.group_framebuffer = None
        texture.group = ()

    def _staging_view(self, capacity: int, size: int):
        """A reusable Float32Array view of `size` floats inside one of `capacity` floats."""
        entry = self._upload_staging.get(capacity)
        if entry is None:
            if len(self._upload_staging) >= _MAX_STAGING_BUFFERS:
                self._upload_staging.pop(next(iter(self._upload_staging)))
            entry = (self._new_float32(capacity), {})
            self._upload_staging[capacity] = entry
        full, views = entry
        view = views.get(size)
        if view is None:
            view = full if size == capacity else full.subarray(0, size)
            views[size] = view
        return full, view

    def upload(self, texture: GpuTexture, values, size: int) -> None:
        """Copy `size` floats (RGBA texel data, a float32 buffer) into the texture's first
        texels: one bulk copy into a staging Float32Array and one texSubImage2D."""
        data = memoryview(values)
        if data.format != "f":
            data = data.cast("B").cast("f")
        if data.nbytes != 4 * size:
            raise ValueError(
                f"upload: expected {size} float32 values ({4 * size} bytes), "
                f"got {data.nbytes} bytes"
            )
        capacity = 4 * texture.width * texture.height
        if size > capacity:
            raise ValueError(f"upload: {size} floats do not fit a {texture.width}x"
                             f"{texture.height} RGBA texture ({capacity} floats)")
        # Texels past `size` keep whatever the staging buffer held: no program reads them.
        full, view = self._staging_view(capacity, size)
        view.assign(data)
        self._bind_for_update(texture.handle)
        self._texSubImage2D(self.TEXTURE_2D, 0, 0, 0, texture.width, texture.height,
                            self.RGBA, self.FLOAT, full)

    def _framebuffer(self, texture: GpuTexture):
        if texture.framebuffer is None:
            gl = self.gl
            framebuffer = gl.createFramebuffer()
            gl.bindFramebuffer(self.FRAMEBUFFER, framebuffer)
            gl.framebufferTexture2D(self.FRAMEBUFFER, self.COLOR_ATTACHMENT0, self.TEXTURE_2D,
                                    texture.handle, 0)
            self._bound_framebuffer = framebuffer
            texture.framebuffer = framebuffer
            self.live_framebuffers += 1
        return texture.framebuffer

    def _group_framebuffer(self, outputs: list[GpuTexture]):
        """One framebuffer with every texture of `outputs` as colour attachment 0, 1, ..."""
        first = outputs[0]
        handles = tuple(t.handle for t in outputs)
        if first.group_framebuffer is not None and first.group == handles:
            return first.group_framebuffer
        gl = self.gl
        if first.group_framebuffer is not None:
            gl.deleteFramebuffer(first.group_framebuffer)
            self.live_framebuffers -= 1
        framebuffer = gl.createFramebuffer()
        gl.bindFramebuffer(self.FRAMEBUFFER, framebuffer)
        attachments = [self.COLOR_ATTACHMENT0 + j for j in range(len(outputs))]
        for attachment, texture in zip(attachments, outputs):
            gl.framebufferTexture2D(self.FRAMEBUFFER, attachment, self.TEXTURE_2D,
                                    texture.handle, 0)
        # The draw-buffer list is framebuffer state: set once here.
        gl.drawBuffers(js_list(attachments))
        self._bound_framebuffer = framebuffer
        self.live_framebuffers += 1
        first.group_framebuffer, first.group = framebuffer, handles
        return framebuffer

    def read(self, texture: GpuTexture, texels: int) -> array:
        """The first `texels` texels as array('f') of 4 * texels floats (RGBA order).

        readPixels with RGBA/FLOAT (always allowed on a float colour buffer) over the rows
        that hold data; this is also the GPU sync point.
        """
        framebuffer = self._framebuffer(texture)
        if self._bound_framebuffer is not framebuffer:
            self._bindFramebuffer(self.FRAMEBUFFER, framebuffer)
            self._bound_framebuffer = framebuffer
        rows = -(-texels // texture.width)
        floats = 4 * texture.width * rows
        staging = self._read_staging.get(floats)
        if staging is None:
            if len(self._read_staging) >= _MAX_STAGING_BUFFERS:
                self._read_staging.pop(next(iter(self._read_staging)))
            staging = self._new_float32(floats)
            self._read_staging[floats] = staging
        self._readPixels(0, 0, texture.width, rows, self.RGBA, self.FLOAT, staging)
        rgba = array("f")
        rgba.frombytes(staging.to_bytes())
        del rgba[4 * texels:]
        return rgba
