"""A browser context whose shadernet worker sees every shader program fail to link, as on
a GPU driver that refuses our shaders: the worker's module is served with a patch of
WebGL2RenderingContext.getProgramParameter prepended. Loading a model links nothing; the
shader warm-up is the first to."""

from __future__ import annotations

REFUSING_LINKS = """{
  const linked = WebGL2RenderingContext.prototype.getProgramParameter;
  WebGL2RenderingContext.prototype.getProgramParameter = function (program, name) {
    return name === this.LINK_STATUS ? false : linked.call(this, program, name);
  };
}
"""


def refuse_shader_links(context) -> None:
    """Serve every worker.js this Playwright context loads with the patch in front."""

    def patched(route):
        original = route.fetch()
        route.fulfill(response=original, body=REFUSING_LINKS + original.text())

    context.route("**/worker.js", patched)
